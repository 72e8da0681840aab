from django.conf import settings
from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask


class Command(BaseCommand):
    help = ("Create or update the beat schedules of the simulation and planning ticks and the "
            "verification follower (idempotent).")

    def handle(self, *args, **options):
        for name, task, seconds in [
            ("simulation tick", "agents.dispatch_simulation_ticks", settings.SELFPLAY_SIM_TICK_SECONDS),
            ("planning tick", "agents.dispatch_planning_ticks", settings.SELFPLAY_PLAN_TICK_SECONDS),
            ("verification follow", "verification.follow", settings.SELFPLAY_SIM_TICK_SECONDS),
        ]:
            schedule, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            _, created = PeriodicTask.objects.update_or_create(
                name=name, defaults={"task": task, "interval": schedule, "enabled": True},
            )
            self.stdout.write(f"{'created' if created else 'updated'} {name!r}: {task} every {seconds} s")
