"""`manage.py check` names scale-out settings that cannot work."""

from selfplay.web.checks import check_scale_settings


def ids(settings) -> list[str]:
    return [problem.id for problem in check_scale_settings(None)]


def test_the_default_and_a_cluster_for_selfplays_own_keys_pass(settings):
    assert ids(settings) == []
    settings.SELFPLAY_REDIS_STATE_URL = "redis+cluster://10.0.0.1:7000,10.0.0.2:7000/"
    settings.SELFPLAY_TICK_SHARDS = 4
    assert ids(settings) == []


def test_a_cluster_url_without_nodes_or_ports_is_refused(settings):
    settings.SELFPLAY_REDIS_STATE_URL = "redis+cluster://10.0.0.1:seven/"
    [problem] = check_scale_settings(None)
    assert problem.id == "selfplay.E001" and "'10.0.0.1:seven' is not host:port" in problem.msg


def test_a_cluster_for_the_broker_or_the_channel_layer_is_refused(settings):
    settings.CELERY_BROKER_URL = "redis+cluster://10.0.0.1:7000/"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
        "hosts": ["redis://10.0.0.2:6379/0", "redis+cluster://10.0.0.3:7000/"]}}}
    problems = check_scale_settings(None)
    assert [p.id for p in problems] == ["selfplay.E002", "selfplay.E002"]
    assert problems[0].msg.startswith("CELERY_BROKER_URL names a Redis Cluster")
    assert problems[1].msg.startswith("SELFPLAY_CHANNEL_REDIS_URLS names a Redis Cluster")


def test_negative_tick_shards_are_refused(settings):
    settings.SELFPLAY_TICK_SHARDS = -1
    assert ids(settings) == ["selfplay.E003"]
