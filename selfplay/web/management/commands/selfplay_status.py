import json as json_module

from django.core.management.base import BaseCommand
from django.utils import timezone

from selfplay.web.overview import world_status


class Command(BaseCommand):
    help = ("Show regions (last tick, lag, cadence), queue depths, follower lag, agents, events, flags; "
            "--json for machines. "
            "Exits 1, with a warning, when a region is stalled or the broker does not answer.")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options):
        status = world_status(now=timezone.now())
        if options["json"]:
            self.stdout.write(json_module.dumps(status, indent=2))
        else:
            self.describe(status)
        for warning in status["warnings"]:
            self.stderr.write(f"WARNING: {warning}")
        if status["warnings"]:
            raise SystemExit(1)

    def describe(self, status: dict) -> None:
        head, readable = status["headGlobalPosition"], status["readableGlobalPosition"]
        lag = f", readers at {readable}: {head - readable} behind" if readable < head else ""
        self.stdout.write(f"events {status['events']} in {status['streams']} streams "
                          f"(head {head}{lag}), agents {status['agents']}, "
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
        self.stdout.write("capabilities: " + ", ".join(
            f"{c['name']} {c['status']}" + (f" ({c['reason']})" if c["reason"] else "")
            for c in status["capabilities"]))
        queues = status["queues"]
        depths = ", ".join(f"{name} {'?' if depth is None else depth}" for name, depth in queues["queues"].items())
        unacked = "?" if queues["unacked"] is None else queues["unacked"]
        self.stdout.write(f"queues: {depths} waiting; {unacked} held by workers (running or due later)")
        for follower in status["followers"]:
            self.stdout.write(f"follower {follower['name']}: at {follower['position']}, "
                              f"{follower['lagEvents']} events behind the head")
        flags = status["flags"]
        kinds = ", ".join(f"{k} {n}" for k, n in flags["openByKind"].items()) or "none"
        self.stdout.write(f"flags: {flags['open']} open ({kinds}), {flags['acknowledged']} acknowledged, "
                          f"{flags['resolved']} resolved; playerhood {status['playerhood']}")
