"""The composition layer: web pages, the WebSocket route and what it accepts, the operator overview.

It may import every app; no app imports it. What the generic `events` transport needs from the
game (which heartbeat groups a stream follows, what a command message does) is wired in from
here by dotted paths in settings.
"""
