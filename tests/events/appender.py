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

from events.store import NewEvent, StoreUnavailable, WrongExpectedVersion, append, stream_version  # noqa: E402


def main(worker: int, count: int, streams: int) -> None:
    rng = random.Random(worker)
    retries = errors = 0
    for seq in range(count):
        stream_id = f"agent:s{rng.randrange(streams)}"
        event = NewEvent("test.appended", {"worker": worker, "seq": seq}, {"actor": "system"})
        while True:
            try:
                if seq % 2:
                    append(stream_id, [event])
                else:
                    append(stream_id, [event], expected_version=stream_version(stream_id))
                break
            except WrongExpectedVersion:
                retries += 1
            except StoreUnavailable as exc:
                errors += 1
                print(json.dumps({"worker": worker, "error": str(exc)}), file=sys.stderr)
                break
    print(json.dumps({"worker": worker, "appended": count, "retries": retries, "errors": errors}))


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:4]))
