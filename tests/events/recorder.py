"""A separate OS process that records through events.store (used by the parallel-append tests).

Usage: python tests/events/recorder.py ROUND WORKER COUNT — prints one JSON line of counts.
Most records go to the worker's own streams (unrelated to every other writer); every fourth goes
to one of three streams that all workers share, at the head it just read, retrying on
WrongExpectedVersion as a careful writer would. Every record also folds into the `agent_stream`
projection key of its stream, so the shared streams exercise the projection key locks too.
Every other record stays in its transaction for a few milliseconds more (as a tick does, which
records and then does more before it commits), so positions often commit out of order.
"""

import json
import random
import sys
import time

import django
from django.db import transaction

django.setup()

from careful_writer import write_carefully  # noqa: E402 - beside this script

from events.store import ANY, NewEvent, record, stream_version  # noqa: E402


def main(round_: int, worker: int, count: int) -> None:
    rng = random.Random(round_ * 100 + worker)
    retries = errors = 0
    for seq in range(count):
        shared = seq % 4 == 0
        stream_id = f"agent:r{round_}-shared-{seq % 3}" if shared else f"agent:r{round_}-w{worker}-{seq % 5}"
        event = NewEvent("test.appended", {"round": round_, "worker": worker, "seq": seq}, {"actor": "system"})

        def write(stream_id=stream_id, event=event, shared=shared, seq=seq):
            with transaction.atomic():
                record([(stream_id, [event], stream_version(stream_id) if shared else ANY)])
                if seq % 2:
                    time.sleep(rng.uniform(0, 0.005))

        retried, failed = write_carefully(write, worker=worker)
        retries, errors = retries + retried, errors + failed
    print(json.dumps({"worker": worker, "recorded": count, "retries": retries, "errors": errors}))


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:4]))
