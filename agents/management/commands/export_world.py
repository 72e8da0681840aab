from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agents.exports import export_log
from agents.imports import TransferRefused
from agents.models import Region


class Command(BaseCommand):
    help = "Write a region's log (its world and agents' streams) to a file that /local/ opens."

    def add_arguments(self, parser):
        parser.add_argument("region")
        parser.add_argument("--output", "-o", help="the file to write (default: standard output)")

    def handle(self, *args, region, output=None, **options):
        found = Region.objects.filter(id=region).first()
        if found is None:
            raise CommandError(f"no region {region}")
        if output and not Path(output).parent.is_dir():  # before the export's work, not after
            raise CommandError(f"--output: no such folder: {Path(output).parent}")
        try:
            data = export_log(found)
        except TransferRefused as exc:
            raise CommandError(exc.message) from exc
        if output:
            try:
                Path(output).write_bytes(data)
            except OSError as exc:
                raise CommandError(f"--output: cannot write {output}: {exc.strerror}") from exc
            self.stderr.write(f"wrote {len(data)} bytes to {output}")
        else:
            self.stdout.write(data.decode("utf-8"), ending="")
