"""A separate OS process that appends to overlapping streams (used by the concurrency test).

Usage: python tests/events/appender.py WORKER COUNT STREAMS — prints one JSON line of counts.
Half the appends use expected_version=ANY, half read the head and append at that exact version,
retrying on WrongExpectedVersion as a careful writer would.
"""

import json
import random
import sys

import django

django.setup()

from careful_writer import write_carefully  # noqa: E402 - beside this script

from events.raw import append  # noqa: E402 - the store's own test, below record()
from events.store import NewEvent, stream_version  # noqa: E402


def main(worker: int, count: int, streams: int) -> None:
    rng = random.Random(worker)
    retries = errors = 0
    for seq in range(count):
        stream_id = f"agent:s{rng.randrange(streams)}"
        event = NewEvent("test.appended", {"worker": worker, "seq": seq}, {"actor": "system"})

        def write(stream_id=stream_id, event=event, seq=seq):
            if seq % 2:
                append(stream_id, [event])
            else:
                append(stream_id, [event], expected_version=stream_version(stream_id))

        retried, failed = write_carefully(write, worker=worker)
        retries, errors = retries + retried, errors + failed
    print(json.dumps({"worker": worker, "appended": count, "retries": retries, "errors": errors}))


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:4]))
