import multiprocessing
import os
import traceback

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from agents.replay import TickReplay
from events.projection_checks import compare, live_snapshot
from events.projections import rebuild_in_memory, registry
from selfplay.canonical import checksum


def _checksums(rebuilt) -> dict:
    return {key: checksum(state) for key, state in rebuilt.states.items()}


def _rebuild_and_replay(names, head, rebuilt, replayed) -> tuple[dict, object]:
    """The second rebuild, with the re-evaluation of every tick riding on its read of the log."""
    replay = TickReplay(replayed)
    second = _checksums(rebuild_in_memory(names=names, until=head, progress=rebuilt, observe=replay.feed))
    return second, replay.report


def _second_pass(names, head, done, sender) -> None:
    """In a child process: the second rebuild and the re-evaluation of every tick.

    It opens its own database connection (the parent closed its own before forking) and
    reports its progress in `done` and its result, or its traceback, through `sender`."""
    def counter(i):
        def add(n):
            done[i] += n
        return add

    try:
        second, report = _rebuild_and_replay(names, head, counter(0), counter(1))
        sender.send(("ok", second, report))
    except BaseException:  # noqa: BLE001 - whatever it is, the parent reports it
        sender.send(("error", traceback.format_exc(), None))
    finally:
        connection.close()
        sender.close()


class Command(BaseCommand):
    help = ("Rebuild every projection twice from zero and compare, then re-evaluate every recorded "
            "tick from its recorded decisions. Exit 1 naming the first divergence. With two or more "
            "CPUs the second rebuild and the re-evaluation run in a second process.")

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, no_progress=False, **options):
        names = list(registry())
        live, head = live_snapshot(names)

        def bar(desc, total=head):
            return tqdm(total=total, unit="ev", desc=desc, disable=no_progress, file=self.stderr)

        # A second process sees only what is committed: inside a caller's transaction (a test),
        # everything runs here.
        parallel = (os.cpu_count() or 1) > 1 and not connection.in_atomic_block
        if parallel:
            child, receiver, done = self.start_second_pass(names, head)
            if options["verbosity"] >= 2:
                self.stderr.write(f"rebuild 2/2 and the tick re-evaluation run in process {child.pid}")
        with bar("rebuild 1/2") as progress:
            first = rebuild_in_memory(names=names, until=head, progress=progress.update)
        if parallel:
            second, report = self.wait_for_second_pass(child, receiver, done, bar)
        else:
            with bar("rebuild 2/2") as rebuilt, bar("re-evaluate ticks") as replayed:
                second, report = _rebuild_and_replay(names, head, rebuilt.update, replayed.update)

        ours = _checksums(first)
        for key in sorted(ours.keys() | second.keys()):
            if ours.get(key) != second.get(key):
                self.stderr.write(f"divergence: two rebuilds of {key[0]}[{key[1]}] differ")
                raise SystemExit(1)
        mismatches = compare(live, first)
        if mismatches:
            self.stderr.write(f"divergence: live projection differs from a rebuild: {mismatches[0]}")
            raise SystemExit(1)
        if report.divergence:
            self.stderr.write(f"divergence: {report.divergence}")
            raise SystemExit(1)
        self.stdout.write(f"ok: {len(first.states)} projection keys rebuilt twice identically; "
                          f"{report.ticks} ticks re-evaluated from {report.events} events, no divergence")

    def start_second_pass(self, names, head):
        context = multiprocessing.get_context("fork")
        done = context.Array("q", 2, lock=False)
        receiver, sender = context.Pipe(duplex=False)
        connection.close()  # never share a connection with the child; ours reopens on the next query
        child = context.Process(target=_second_pass, args=(names, head, done, sender), daemon=True,
                                name="verify_replay: second pass")
        child.start()
        sender.close()
        return child, receiver, done

    def wait_for_second_pass(self, child, receiver, done, bar):
        with bar("rebuild 2/2") as rebuild, bar("re-evaluate ticks", total=None) as ticks:
            while not receiver.poll(0.2):
                rebuild.update(done[0] - rebuild.n)
                ticks.update(done[1] - ticks.n)
                if not child.is_alive() and not receiver.poll():
                    raise CommandError(f"the second pass died (exit code {child.exitcode})")
            rebuild.update(done[0] - rebuild.n)
            ticks.update(done[1] - ticks.n)
        try:
            outcome, second, report = receiver.recv()
        except EOFError as exc:
            raise CommandError(f"the second pass ended without an answer (exit code {child.exitcode})") from exc
        child.join(timeout=30)
        if outcome != "ok":
            raise CommandError(f"the second pass failed:\n{second}")
        return second, report
