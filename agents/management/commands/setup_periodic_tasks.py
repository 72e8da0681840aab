from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask


class Command(BaseCommand):
    help = ("Create or update the beat schedules of the simulation and planning ticks, the "
            "verification follower, the capability sweep and the event partitions kept ahead (idempotent).")

    def handle(self, *args, **options):
        sim, plan = settings.SELFPLAY_SIM_TICK_SECONDS, settings.SELFPLAY_PLAN_TICK_SECONDS
        sweep = settings.SELFPLAY_CAPABILITY_SWEEP_SECONDS
        # Each firing expires before the next one is sent, so a worker outage leaves nothing to
        # replay in a burst: the next fresh firing does the work. A simulation dispatch expires
        # after half an interval, when its window of due moments is no longer ahead of it
        # (agents/cadence.py).
        for name, task, seconds, expires in [
            ("simulation tick", "agents.dispatch_simulation_ticks", sim, max(1, sim // 2)),
            ("planning tick", "agents.dispatch_planning_ticks", plan, plan),
            ("verification follow", "verification.follow", sim, sim),
            ("capability sweep", "agents.sweep_capabilities", sweep, sweep),
            # Appends make partitions ahead themselves; this is for a log that sat idle (PostgreSQL).
            ("event partitions", "events.ensure_partitions", 300, 300),
        ]:
            schedule, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            _, created = PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": schedule, "enabled": True,
                                     "expire_seconds": expires},
            )
            self.stdout.write(f"{'created' if created else 'updated'} {name!r}: {task} every {seconds} s, "
                              f"expiring after {expires} s")
