"""The retry loop of the writer processes (appender.py, recorder.py): a careful writer."""

import json
import sys

from events.store import StoreUnavailable, WrongExpectedVersion


def write_carefully(write, *, worker: int) -> tuple[int, int]:
    """Call `write()` until no stale expected version refuses it; return (retries, errors).

    An unavailable store ends the attempt: it is counted and reported on stderr, not retried.
    """
    retries = 0
    while True:
        try:
            write()
            return retries, 0
        except WrongExpectedVersion:
            retries += 1
        except StoreUnavailable as exc:
            print(json.dumps({"worker": worker, "error": str(exc)}), file=sys.stderr)
            return retries, 1
