"""Capabilities: how agents act on the world outside, through recorded, budgeted plugins.

A `use` decision becomes `capability.requested` in the tick (`tick.py`); after the tick commits a
worker performs it outside any transaction (`services.perform`) and records exactly one
`capability.completed` or `capability.failed`. Replay only ever reads those records. See
docs/capabilities.md.
"""
