from django.core.management.base import BaseCommand
from tqdm import tqdm

from agents.replay import verify_recorded_ticks
from events.projections import rebuild_in_memory, registry
from events.selectors import head_global_position
from events.verification import compare_with_rebuild
from selfplay.canonical import checksum


class Command(BaseCommand):
    help = ("Rebuild every projection twice from zero and compare, then re-evaluate every recorded "
            "tick from its recorded decisions. Exit 1 naming the first divergence.")

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, no_progress=False, **options):
        names = list(registry())
        head = head_global_position()

        def bar(desc):
            return tqdm(total=head, unit="ev", desc=desc, disable=no_progress, file=self.stderr)

        with bar("rebuild 1/2") as progress:
            mismatches, first = compare_with_rebuild(names, progress=progress.update)
        with bar("rebuild 2/2") as progress:
            second = rebuild_in_memory(names=names, until=first.head, progress=progress.update)
        for key in sorted(first.states.keys() | second.states.keys()):
            if checksum(first.states.get(key)) != checksum(second.states.get(key)):
                self.stderr.write(f"divergence: two rebuilds of {key[0]}[{key[1]}] differ")
                raise SystemExit(1)
        if mismatches:
            self.stderr.write(f"divergence: live projection differs from a rebuild: {mismatches[0]}")
            raise SystemExit(1)
        with bar("re-evaluate ticks") as progress:
            report = verify_recorded_ticks(progress=progress.update)
        if report.divergence:
            self.stderr.write(f"divergence: {report.divergence}")
            raise SystemExit(1)
        self.stdout.write(f"ok: {len(first.states)} projection keys rebuilt twice identically; "
                          f"{report.ticks} ticks re-evaluated from {report.events} events, no divergence")
