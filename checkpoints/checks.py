"""System checks: the checkpoint manager is configured and wired (run by `manage.py check`)."""

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

HOOK = "checkpoints.services.after_record"
PROJECTIONS = ("checkpoints.projections.AGENT_STREAM", "checkpoints.projections.STREAM")


@register()
def check_checkpoint_settings(app_configs, **kwargs):
    from .storage import default_storage

    problems = []
    try:
        default_storage()
    except ImproperlyConfigured as exc:
        problems.append(Error(str(exc), id="checkpoints.E001"))
    retention = getattr(settings, "SELFPLAY_CHECKPOINT_RETENTION", 5)
    if not isinstance(retention, int) or retention < 1:
        problems.append(Error(f"SELFPLAY_CHECKPOINT_RETENTION must be an int >= 1, not {retention!r}",
                              id="checkpoints.E002"))
    if HOOK not in getattr(settings, "SELFPLAY_AFTER_RECORD", []):
        problems.append(Warning(f"{HOOK} is not in SELFPLAY_AFTER_RECORD: no checkpoint will be made by policy",
                                id="checkpoints.W001"))
    missing = [p for p in PROJECTIONS if p not in settings.SELFPLAY_PROJECTIONS]
    if missing:
        problems.append(Error(f"{', '.join(missing)} missing from SELFPLAY_PROJECTIONS: agent, system and "
                              "verification streams have no state to checkpoint", id="checkpoints.E003"))
    return problems
