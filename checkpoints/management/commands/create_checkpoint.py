"""Checkpoint one stream now, whatever the policy says, and print the checkpoint."""

from django.core.management.base import BaseCommand, CommandError

from checkpoints.exceptions import NoCheckpoint
from checkpoints.services import create_checkpoint
from checkpoints.storage import StorageUnavailable
from events.store import InvalidStreamId


class Command(BaseCommand):
    help = "Checkpoint a stream at its head now (e.g. to replace a corrupt checkpoint)."

    def add_arguments(self, parser):
        parser.add_argument("--stream", required=True, help="stream id, e.g. world:meadow or agent:ada")

    def handle(self, *args, stream, **options):
        try:
            checkpoint = create_checkpoint(stream)
        except (InvalidStreamId, NoCheckpoint, StorageUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{checkpoint.pk} {checkpoint.stream_id} position={checkpoint.position} "
                          f"globalPosition={checkpoint.global_position} checksum={checkpoint.checksum} "
                          f"storage={checkpoint.storage}")
