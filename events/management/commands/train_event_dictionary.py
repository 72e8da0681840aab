"""Train a zstd dictionary for the compact stored form (events.compact) from this database's events.

The shipped dictionary, events/dictionaries/events-1.zdict, was made by

    make soak SOAK_TICKS=2000            # a day's soak is the same events, many more of them
    DATABASE_URL=sqlite:///var/soak/soak.sqlite3 python manage.py train_event_dictionary \
        --out events/dictionaries/events-1.zdict

A shipped dictionary is never replaced (stored rows need it to be read); a better one is added
under the next number, with its form byte in events.compact.
"""

from pathlib import Path

import zstandard
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from events.compact import unpack_json

MIN_SIZE, MAX_SIZE = 1024, 1024 * 1024
MIN_SAMPLES = 100


class Command(BaseCommand):
    help = "Train a zstd dictionary on a sample of the stored events' data and metadata."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="file to write the dictionary to")
        parser.add_argument("--size", type=int, default=4096, help="dictionary size in bytes")
        parser.add_argument("--samples", type=int, default=60_000, help="at most this many texts")

    def handle(self, *args, out, size, samples, **options):
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise CommandError(f"--size must be between {MIN_SIZE:,} and {MAX_SIZE:,} bytes")
        if samples < MIN_SAMPLES:
            raise CommandError(f"--samples must be at least {MIN_SAMPLES:,}")
        if not Path(out).parent.is_dir():
            raise CommandError(f"--out: no such folder: {Path(out).parent}")
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM events_event")
            count = cursor.fetchone()[0]
            if count < 1000:
                raise CommandError(f"{count} events are too few to train on: run a soak first")
            step = max(1, -(-count * 2 // samples))  # rounded up: at most `samples` texts
            # Every step-th event, across the whole log: all its types in their proportions.
            cursor.execute("SELECT data, metadata FROM events_event WHERE global_position %% %s = 0 "
                           "ORDER BY global_position", [step])
            texts = [unpack_json(value).encode() for row in cursor.fetchall() for value in row][:samples]
        dictionary = zstandard.train_dictionary(size, texts, level=3)
        Path(out).write_bytes(dictionary.as_bytes())
        self.stdout.write(f"trained a {len(dictionary.as_bytes()):,}-byte dictionary on {len(texts):,} texts "
                          f"from {count:,} events: {out}")
