from django.core.management.base import BaseCommand
from django.db import connection

from events import partitions
from events.selectors import head_global_position


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


class Command(BaseCommand):
    help = ("List the event log's partitions (PostgreSQL) with their positions, rows and size; "
            "--ensure makes the empty ones kept ahead of the head first.")

    def add_arguments(self, parser):
        parser.add_argument("--ensure", action="store_true",
                            help="first make partitions until SELFPLAY_EVENT_PARTITIONS_AHEAD empty ones lie ahead")

    def handle(self, *args, ensure=False, **options):
        if not partitions.partitioned():
            self.stdout.write(f"the event log is one table on {connection.vendor}: only PostgreSQL partitions it "
                              "(docs/partitioning.md)")
            return
        if ensure:
            made = partitions.ensure()
            self.stdout.write(f"made {len(made)} partition(s){': ' + ', '.join(made) if made else ''}")
        head = head_global_position()
        found = partitions.partitions()
        self.stdout.write(f"{'partition':<28} {'positions':>27} {'rows (est.)':>12} {'size':>10}")
        for p in found:
            rows = "-" if p.rows < 0 else f"{p.rows:,}"
            marker = "  <- head" if p.first <= head < p.end else ""
            self.stdout.write(f"{p.name:<28} {p.first:>13,}..{p.end - 1:<13,} {rows:>12} {_size(p.bytes):>10}{marker}")
        ahead = partitions.empty_above(found, head)
        self.stdout.write(f"{len(found)} partitions, {_size(sum(p.bytes for p in found))}; head at {head:,}, "
                          f"{ahead} empty partition(s) ahead")
        if ahead == 0:
            self.stderr.write("no partition is left ahead of the head: appends will soon fail; run with --ensure")
