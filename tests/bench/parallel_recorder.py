"""One writer process of bench_parallel_appends: records through events.store.record.

Usage: python -m tests.bench.parallel_recorder WORKER COUNT [global-lock]. It creates its streams
first (untimed: a new stream is checkpointed on its first event), prints "ready", waits for a
line on stdin, records COUNT single-event appends to its own 50 streams, and prints the seconds
that took. `global-lock` takes the store's old global advisory lock at the start of each
append's transaction, as every append did before appends ran in parallel.
"""

import sys
import time

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from events.backends.postgresql import ADVISORY_LOCK_KEY  # noqa: E402
from events.store import ANY, NewEvent, record  # noqa: E402

STREAMS = 50


def _event(worker: int, n: int) -> tuple:
    stream_id = f"agent:bench-w{worker}-{n % STREAMS}"
    return (stream_id, [NewEvent("agent.action.submitted",
                                 {"tick": n, "action": {"type": "move", "dx": 1, "dy": 0}, "source": "brain"},
                                 {"actor": stream_id, "tick": n})], ANY)


def main(worker: int, count: int, global_lock: bool) -> None:
    for n in range(STREAMS):
        record([_event(worker, n)])
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    for n in range(STREAMS, STREAMS + count):
        with transaction.atomic():
            if global_lock:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
            record([_event(worker, n)])
    print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:] == ["global-lock"])
