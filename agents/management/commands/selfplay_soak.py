import logging
import os
import resource
import time
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from agents.models import Region
from agents.services import NewAgent, create_region, spawn_agents, tick_region


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# The soak compares its pace over its first and its last this many ticks: a tick's cost should
# depend on its agents, not on how long the log already is.
PACE_WINDOW = 2000


class Command(BaseCommand):
    help = ("Accelerated autonomy: drive the tick service with an injected clock (no Celery, no "
            "sleeping) for N ticks of M agents, then check gaps, chains and replay.")

    def add_arguments(self, parser):
        parser.add_argument("--ticks", type=int, required=True)
        parser.add_argument("--agents", type=int, required=True)
        parser.add_argument("--region", default="soak")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--every", type=int, default=500, help="print progress every N ticks")

    def handle(self, *args, ticks, agents, region, seed, every, **options):
        if ticks < 1 or agents < 1:
            raise CommandError("--ticks and --agents must be at least 1")
        regions = sorted(Region.objects.values_list("id", flat=True))
        if regions:
            # The soak's region starts on a fixed day long past: a daemon serving this database
            # would adopt it and record every tick since then as missed.
            raise CommandError(f"this database already has regions ({', '.join(regions[:5])}): soak a fresh one, "
                               "e.g. DATABASE_URL=sqlite:///var/soak/soak.sqlite3 as `make soak` does")
        settings.SELFPLAY_PUBLISH_EVENTS = False  # nobody listens; measure the daemon alone
        logging.getLogger("agents.services").setLevel(logging.WARNING)  # progress lines instead
        side = max(32, int((agents * 12) ** 0.5))
        created = create_region(region_id=region, seed=seed, epoch=Region._meta.get_field("epoch")
                                .to_python("2026-01-01T00:00:00Z"), width=side, height=side)
        brains = sorted(settings.SELFPLAY_BRAINS)
        spawn_agents(region_id=region, rng_seed=seed, agents=[
            NewAgent(id=f"a{i}", name=f"Agent {i}", brain=brains[i % len(brains)]) for i in range(agents)])
        self.stdout.write(f"soak: region {region} {side}x{side}, {agents} agents, {ticks} ticks "
                          f"({ticks * created.tick_seconds / 3600:.1f} h of world time)")
        started = last_report = time.perf_counter()
        events = events_since = 0
        window = min(PACE_WINDOW, ticks // 2) or 1
        window_started = {1: started}
        for tick in range(1, ticks + 1):
            if tick in (1, ticks - window + 1):
                window_started[tick] = time.perf_counter()
            now = created.epoch + timedelta(seconds=tick * created.tick_seconds)
            report = tick_region(region_id=region, now=now)
            if report.ticks != [tick]:
                raise CommandError(f"tick {tick}: expected exactly that tick, got {report}")
            events += report.events
            events_since += report.events
            if tick == window:
                first_window = time.perf_counter() - window_started[1]
            if tick % every == 0 or tick == ticks:
                elapsed = time.perf_counter() - last_report
                self.stdout.write(
                    f"tick {tick}/{ticks}  {events} events  {events_since / elapsed:,.0f} events/s  "
                    f"{every / elapsed if tick % every == 0 else 0:,.1f} ticks/s  rss {rss_mib():.0f} MiB", ending="\n")
                self.stdout.flush()
                last_report, events_since = time.perf_counter(), 0
        duration = time.perf_counter() - started
        last_window = time.perf_counter() - window_started[ticks - window + 1]
        self.stdout.write(f"simulated {ticks} ticks in {duration:.1f} s ({ticks / duration:.1f} ticks/s, "
                          f"{events / duration:,.0f} events/s), peak rss {peak_rss_mib():.0f} MiB")
        self.stdout.write(f"pace: first {window} ticks {window / first_window:.1f} ticks/s, last {window} "
                          f"{window / last_window:.1f} ticks/s (last/first {first_window / last_window:.2f})")
        self.report_size()
        self.check_gaps()
        for command in ("verify_chain", "verify_replay"):
            step = time.perf_counter()
            call_command(command, "--no-progress", stdout=self.stdout, stderr=self.stderr)
            self.stdout.write(f"{command} took {time.perf_counter() - step:.1f} s")
        self.stdout.write(f"soak passed in {time.perf_counter() - started:.1f} s, peak rss {peak_rss_mib():.0f} MiB")

    def report_size(self):
        """Print the database's size per event: the log, its indexes, projections and checkpoints."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM events_event")
            count = cursor.fetchone()[0]
            if connection.vendor == "sqlite":  # the pages this connection sees, the WAL's included
                cursor.execute("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            else:
                cursor.execute("SELECT pg_database_size(current_database())")
            size = cursor.fetchone()[0]
        self.stdout.write(f"storage: {size / 2**20:,.1f} MiB for {count:,} events, {size / count:.0f} bytes per event "
                          "(events, indexes, projections and checkpoints)")

    def check_gaps(self):
        """Every stream's positions are exactly 1..version: count, min and max agree."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.id, s.version, COUNT(e.position), MIN(e.position), MAX(e.position) "
                "FROM events_stream s LEFT JOIN events_event e ON e.stream_id = s.id "
                "GROUP BY s.id, s.version")
            rows = cursor.fetchall()
        bad = [r for r in rows if not (r[2] == r[1] and r[3] == 1 and r[4] == r[1])]
        if bad:
            raise CommandError(f"gap check failed for {len(bad)} streams, first: {bad[0]}")
        self.stdout.write(f"gap check: {len(rows)} streams, positions gapless")
