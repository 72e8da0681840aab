"""Pause Python's cyclic garbage collector around work that allocates many acyclic containers.

Decoding a page of events, folding a log into projections or running a tick allocates tens of
thousands of small dicts and lists. Each allocation burst triggers collections that rescan every
surviving container (and, once enough survive, the whole heap of a Django process): on a page of
1,000 events that was half the cost of reading it. None of that work builds reference cycles,
so nothing is lost by letting the collector wait until it ends.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused_gc():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
