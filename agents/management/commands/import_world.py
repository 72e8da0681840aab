import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from agents.imports import TransferRefused, import_log


class Command(BaseCommand):
    help = ("Verify a local world's log file (every chain, every recorded tick) and adopt it as a new "
            "region owned by a player. Exit 1 naming the first bad event; nothing is written then.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="a log file exported from /local/ (JSON, or gzipped JSON)")
        parser.add_argument("--owner", required=True, help="the username of the player who will own it")

    def handle(self, *args, path, owner, **options):
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: owner}).first()
        if user is None:
            raise CommandError(f"no such player: {owner}")
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            report = import_log(owner=user, raw=raw)
        except TransferRefused as exc:
            self.stderr.write(f"refused ({exc.code}): {exc.message}\n{json.dumps(exc.details, sort_keys=True)}")
            raise SystemExit(1) from None
        self.stdout.write(f"imported region {report.region} for {report.owner}: {report.events} events, "
                          f"{report.ticks} ticks re-evaluated, {report.agents} agents; ticking on from tick "
                          f"{report.last_tick + 1} every {report.tick_seconds} s")
