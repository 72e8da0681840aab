"""Running a coroutine from a synchronous test."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run_async(coroutine) -> Any:
    """Run a coroutine to completion on a loop of its own and return its result.

    It runs in another thread: while the browser tests' session-wide Playwright is alive, the
    test thread already has a running event loop, and asyncio.run refuses to start a second one.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
