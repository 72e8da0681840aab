import json as json_module

from django.core.management.base import BaseCommand
from django.utils import timezone

from agents.selectors import world_status


class Command(BaseCommand):
    help = "Show regions (last tick, lag, cadence), agents, events; --json for machines."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options):
        status = world_status(now=timezone.now())
        if options["json"]:
            self.stdout.write(json_module.dumps(status, indent=2))
            return
        self.stdout.write(f"events {status['events']} in {status['streams']} streams "
                          f"(head {status['headGlobalPosition']}), agents {status['agents']}, "
                          f"checkpoints {status['checkpoints']}")
        for r in status["regions"]:
            c = r["continuity"]
            self.stdout.write(
                f"region {r['region']}: tick {r['lastTick']} (due {r['dueTick']}, lag {r['lagTicks']}), "
                f"every {r['cadenceSeconds']} s, {r['ticksPerMinute']} ticks/min, "
                f"{r['activeAgents']}/{r['agents']} agents active, last tick at {r['lastTickAt'] or 'never'}")
            self.stdout.write(
                f"  lateness p50 {c['latenessP50Ms']} ms, p99 {c['latenessP99Ms']} ms; "
                f"caught up {c['caughtUpTicks']} ticks, skipped {c['skippedTicks']}")
        flags = status["openFlags"]
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(flags["byKind"].items())) or "none"
        self.stdout.write(f"open flags {flags['total']} ({kinds}); playerhood {status['playerhood']}")
