from django.apps import AppConfig
from django.core.checks import register


class WebConfig(AppConfig):
    name = "selfplay.web"
    label = "web"
    verbose_name = "Selfplay web"

    def ready(self):
        # The Celery app is loaded here, not in selfplay/__init__.py, so that the pure core imports
        # without Celery; any Django process then sends tasks through the configured app.
        from checkpoints import signals as checkpoint_signals
        from selfplay import celery  # noqa: F401
        from verification.services import note_token_ahead, note_token_use

        from . import signals  # noqa: F401 - connects the receivers
        from .checks import check_scale_settings

        register(check_scale_settings)

        # The checkpoint manager announces token use; the continuity tracker follows it. Neither
        # knows the other: the composition layer introduces them.
        checkpoint_signals.token_used.connect(note_token_use, dispatch_uid="selfplay.token_used")
        checkpoint_signals.token_ahead_of_head.connect(note_token_ahead, dispatch_uid="selfplay.token_ahead")
