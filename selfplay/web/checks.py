"""System checks of the scale-out settings (docs/deployment.md), run by `manage.py check`."""

from django.conf import settings
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured

from selfplay.redis_client import cluster_nodes, is_cluster_url


def check_scale_settings(app_configs, **kwargs):
    problems = []
    state = getattr(settings, "SELFPLAY_REDIS_STATE_URL", "")
    if state and is_cluster_url(state):
        try:
            cluster_nodes(state)
        except ImproperlyConfigured as exc:
            problems.append(Error(f"SELFPLAY_REDIS_STATE_URL: {exc}", id="selfplay.E001"))
    plain_only = {"REDIS_URL": [settings.REDIS_URL], "CELERY_BROKER_URL": [settings.CELERY_BROKER_URL],
                  "SELFPLAY_CHANNEL_REDIS_URLS": settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]}
    for name, urls in plain_only.items():
        if any(isinstance(url, str) and is_cluster_url(url) for url in urls):
            problems.append(Error(
                f"{name} names a Redis Cluster: the Celery broker, the channel layer and the login "
                "counters need plain Redis servers; only SELFPLAY_REDIS_STATE_URL may be a cluster",
                id="selfplay.E002"))
    shards = settings.SELFPLAY_TICK_SHARDS
    if not isinstance(shards, int) or shards < 0:
        problems.append(Error(f"SELFPLAY_TICK_SHARDS must be an int >= 0, not {shards!r}", id="selfplay.E003"))
    return problems
