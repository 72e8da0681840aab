"""The cadence baseline: an asyncio `call_at` loop on a tick grid, noting how late each wake is.

Usage: python -m tests.bench.call_at_loop EPOCH_UNIX_SECONDS INTERVAL_SECONDS OUT.jsonl [SECONDS]
Wakes at every `epoch + n × interval` from the next one on and appends `{"tick": n, "dueAt": …,
"latenessMs": …}` per wake to OUT.jsonl, until SECONDS have passed or it is terminated.
"""

import asyncio
import json
import math
import sys
import time


async def main(epoch: float, interval: float, out: str, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    stop_at = time.time() + seconds
    tick = math.floor((time.time() - epoch) / interval) + 1
    with open(out, "a", buffering=1) as fh:
        while (due := epoch + tick * interval) < stop_at:
            woke = loop.create_future()
            # Wall time to the loop's monotonic clock, taken afresh each tick.
            loop.call_at(loop.time() + (due - time.time()), woke.set_result, None)
            await woke
            fh.write(json.dumps({"tick": tick, "dueAt": due, "latenessMs": (time.time() - due) * 1000}) + "\n")
            tick += 1


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]), float(sys.argv[2]), sys.argv[3],
                     float(sys.argv[4]) if len(sys.argv) > 4 else math.inf))
