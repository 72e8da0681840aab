from celery import shared_task

from .services import follow


@shared_task(name="verification.follow")
def follow_log() -> dict:
    """Analyse what the log gained since the last run (beat runs this every tick)."""
    report = follow()
    return {"events": report.events, "flags": report.flags, "signals": report.signals,
            "position": report.position}
