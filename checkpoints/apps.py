from django.apps import AppConfig


class CheckpointsConfig(AppConfig):
    name = "checkpoints"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
