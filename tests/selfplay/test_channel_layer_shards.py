"""The channel layer sharded over two real Redis servers (SELFPLAY_CHANNEL_REDIS_URLS).

channels-redis puts each process's channels on the host its client prefix hashes to, and a
group on the host its name hashes to; a group_send must reach members on both hosts.
"""

import asyncio
import json
import os
import subprocess
import sys
import uuid

import redis
from channels_redis.core import RedisChannelLayer
from django.conf import settings as django_settings

from tests.support.aio import run_async


def layer(hosts: list[str]) -> RedisChannelLayer:
    """A layer as one daphne process builds it from settings.CHANNEL_LAYERS (capacity, expiry)."""
    return RedisChannelLayer(**{**django_settings.CHANNEL_LAYERS["default"]["CONFIG"], "hosts": hosts})


def test_the_setting_lists_the_layers_hosts(spare_redis_pair):
    first, second = spare_redis_pair
    urls = f"{first.url}, {second.url}"
    script = ("import django; django.setup(); from django.conf import settings; import json; "
              "print(json.dumps(settings.CHANNEL_LAYERS['default']['CONFIG']['hosts']))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "selfplay.settings", "SELFPLAY_CHANNEL_REDIS_URLS": urls}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == [first.url, second.url]
    env.pop("SELFPLAY_CHANNEL_REDIS_URLS")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == [django_settings.REDIS_URL]


def test_a_group_send_reaches_members_on_both_hosts(spare_redis_pair):
    hosts = [server.url for server in spare_redis_pair]

    async def scenario():
        # One layer per daphne process; a process's channels live on the host its inbox
        # ("specific.<client prefix>!") hashes to. Find one process per host.
        processes: dict[int, tuple[RedisChannelLayer, str]] = {}
        while len(processes) < 2:
            candidate = layer(hosts)
            channel = await candidate.new_channel()
            processes.setdefault(candidate.consistent_hash(candidate.non_local_name(channel)), (candidate, channel))
        publisher = layer(hosts)  # the worker that records and publishes
        group = f"stream.test-{uuid.uuid4().hex[:12]}"
        for process, channel in processes.values():
            await process.group_add(group, channel)
        await publisher.group_send(group, {"type": "stream.event", "position": 7})
        # Before anyone reads: each member's message waits on its own host, and only there.
        waiting = {index: [bool(redis.Redis.from_url(url).exists(f"asgi{process.non_local_name(channel)}"))
                           for url in hosts]
                   for index, (process, channel) in processes.items()}
        group_holders = [bool(redis.Redis.from_url(url).exists(f"asgi:group:{group}")) for url in hosts]
        received = {index: await asyncio.wait_for(process.receive(channel), 5)
                    for index, (process, channel) in processes.items()}
        for process, channel in processes.values():
            await process.group_discard(group, channel)
        for process in [*(p for p, _ in processes.values()), publisher]:
            await process.close_pools()
        return waiting, group_holders, publisher.consistent_hash(group), received

    waiting, group_holders, group_host, received = run_async(scenario())
    assert waiting == {0: [True, False], 1: [False, True]}
    assert received == {0: {"type": "stream.event", "position": 7}, 1: {"type": "stream.event", "position": 7}}
    # The group's membership lives on one host only, the one its name hashes to.
    assert group_holders == [index == group_host for index in range(2)]
