"""System checks of the checkpoint manager's settings."""

from checkpoints.checks import check_checkpoint_settings


def ids(problems) -> list[str]:
    return [p.id for p in problems]


def test_the_project_settings_pass():
    assert check_checkpoint_settings(None) == []


def test_a_storage_that_cannot_be_imported_is_an_error(settings):
    settings.SELFPLAY_CHECKPOINT_STORAGE = "checkpoints.storage.NoSuchStorage"
    assert ids(check_checkpoint_settings(None)) == ["checkpoints.E001"]
    settings.SELFPLAY_CHECKPOINT_STORAGE = "checkpoints.models.Checkpoint"
    assert ids(check_checkpoint_settings(None)) == ["checkpoints.E001"]


def test_retention_below_one_is_an_error(settings):
    settings.SELFPLAY_CHECKPOINT_RETENTION = 0
    assert ids(check_checkpoint_settings(None)) == ["checkpoints.E002"]


def test_missing_wiring_is_reported(settings):
    settings.SELFPLAY_AFTER_RECORD = []
    settings.SELFPLAY_PROJECTIONS = [p for p in settings.SELFPLAY_PROJECTIONS if p != "checkpoints.projections.AGENT_STREAM"]
    assert ids(check_checkpoint_settings(None)) == ["checkpoints.W001", "checkpoints.E003"]
