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
                          f"(head {status['headGlobalPosition']}), agents {status['agents']}")
        for r in status["regions"]:
            self.stdout.write(
                f"region {r['region']}: tick {r['lastTick']} (due {r['dueTick']}, lag {r['lagTicks']}), "
                f"every {r['cadenceSeconds']} s, {r['activeAgents']}/{r['agents']} agents active, "
                f"last tick at {r['lastTickAt'] or 'never'}")
