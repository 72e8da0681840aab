"""Flow control for WebSocket sends: wait while the client's transport is full.

ASGI's `send` never blocks under daphne: a frame goes straight into Twisted's write buffer, so
a client that stops reading would make the server buffer the whole stream for it. Twisted's
answer is a streaming producer (IPushProducer): the transport calls `pauseProducing()` when its
buffer passes `bufferSize` (64 KiB) and `resumeProducing()` once it has drained. autobahn's
protocol exposes `registerProducer` for exactly this.

`TransportFlowMiddleware` wraps the ASGI application at the outside, where `send` is still
daphne's own `partial(Server.handle_reply, protocol)`, and puts a `TransportFlow` in the
WebSocket scope's extensions. Consumers call `await flow.writable()` before each frame. Under a
server whose `send` already waits for the transport (uvicorn, the test communicator), or when
the protocol cannot be found, `writable()` never waits: nothing is lost, only the bound.
"""

from __future__ import annotations

import asyncio
import functools

SCOPE_KEY = "selfplay.flow"


class TransportFlow:
    """An IPushProducer for one connection's transport: `writable()` waits while it is paused.

    A transport has one producer. After the HTTP upgrade, daphne's HTTP channel is still the
    registered one (it stops reading the socket while the buffer is full); this flow takes its
    place and passes every call on to it, so that behaviour stays as it was.
    """

    def __init__(self, previous=None) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self.previous = previous
        self.transport = None
        self.stopped = False
        self.reading_stopped = False
        self.pauses = 0

    # IPushProducer, called by Twisted on the event loop's thread.
    def pauseProducing(self) -> None:  # noqa: N802 - Twisted's interface
        self.pauses += 1
        self._open.clear()
        if self.previous is not None:
            self.previous.pauseProducing()

    def resumeProducing(self) -> None:  # noqa: N802
        self._open.set()
        if self.previous is not None and not self.reading_stopped:
            self.previous.resumeProducing()

    def stopProducing(self) -> None:  # noqa: N802 - the connection is gone
        self.stopped = True
        self._open.set()
        if self.previous is not None:
            self.previous.stopProducing()

    def stop_reading(self) -> None:
        """Read nothing more from the client: it is being closed for what it sent, and daphne
        would queue all of it, unread, until the close completes."""
        self.reading_stopped = True
        if self.transport is not None:
            self.transport.pauseProducing()

    @property
    def paused(self) -> bool:
        return not self._open.is_set()

    async def writable(self) -> None:
        """Return once the transport has room (at once when it never filled up)."""
        if not self._open.is_set():
            await self._open.wait()


def _daphne_protocol(send):
    """Return the autobahn protocol behind daphne's `send`, or None under another server."""
    if isinstance(send, functools.partial) and send.args:
        protocol = send.args[0]
        if callable(getattr(protocol, "registerProducer", None)):
            return protocol
    return None


def flow_of(scope) -> TransportFlow:
    """Return the connection's TransportFlow (a never-pausing one when the server gave none)."""
    return scope.get("extensions", {}).get(SCOPE_KEY) or TransportFlow()


class TransportFlowMiddleware:
    """ASGI middleware, outermost: give each WebSocket connection a TransportFlow."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            protocol = _daphne_protocol(send)
            flow = TransportFlow()
            if protocol is not None and getattr(protocol, "transport", None) is not None:
                previous = getattr(protocol.transport, "producer", None)
                if previous is not None:
                    protocol.unregisterProducer()
                flow = TransportFlow(previous)
                protocol.registerProducer(flow, True)
                flow.transport = protocol.transport
            scope = {**scope, "extensions": {**(scope.get("extensions") or {}), SCOPE_KEY: flow}}
        return await self.app(scope, receive, send)
