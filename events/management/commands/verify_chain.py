from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from events.chain import verify_chains
from events.models import Event


class Command(BaseCommand):
    help = "Verify the hash chain of every stream (or one). Exit 1 naming the first break."

    def add_arguments(self, parser):
        parser.add_argument("--stream", help="verify only this stream id, e.g. agent:ada")
        parser.add_argument("--no-progress", action="store_true", help="do not show a progress bar")

    def handle(self, *args, stream=None, no_progress=False, **options):
        if stream is not None and not stream:
            raise CommandError("--stream needs a stream id, e.g. agent:ada")
        total = Event.objects.filter(stream_id=stream).count() if stream else Event.objects.count()
        with tqdm(total=total, unit="ev", disable=no_progress or total < 10_000, file=self.stderr) as bar:
            report = verify_chains(stream_id=stream, progress=bar.update)
        if stream is not None and report.streams == 0:
            raise CommandError(f"no such stream: {stream}")
        if report.broken:
            self.stderr.write(f"chain broken: {report.broken}")
            raise SystemExit(1)
        self.stdout.write(f"ok: {report.streams} streams, {report.events} events, every chain intact "
                          f"({report.anchors} signed anchors hold)")
