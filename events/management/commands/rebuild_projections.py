from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from events.projection_checks import compare_with_rebuild
from events.projections import UnknownProjection, get_spec, rebuild_and_replace, registry
from events.selectors import head_global_position


class Command(BaseCommand):
    help = "Rebuild projections from the log; --verify compares checksums with the live ones instead."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="projections to rebuild (default: all)")
        parser.add_argument("--verify", action="store_true",
                            help="write nothing; exit 1 if any live projection differs from a rebuild")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, names, verify, no_progress, **options):
        try:
            names = list(dict.fromkeys(get_spec(n).name for n in names)) or list(registry())
        except UnknownProjection as exc:
            raise CommandError(str(exc)) from exc
        with tqdm(total=head_global_position(), unit="ev", disable=no_progress, file=self.stderr,
                  desc="rebuild") as bar:
            if verify:
                mismatches, rebuilt = compare_with_rebuild(names, progress=bar.update)
            else:
                rebuilt = rebuild_and_replace(names=names, progress=bar.update)
        keys = len(rebuilt.states)
        if not verify:
            self.stdout.write(f"rebuilt {keys} projection keys ({', '.join(names)}) from {rebuilt.events} events")
            return
        if mismatches:
            for mismatch in mismatches:
                self.stderr.write(f"checksum mismatch: {mismatch}")
            raise SystemExit(1)
        self.stdout.write(f"ok: {keys} projection keys match a rebuild from {rebuilt.events} events")
