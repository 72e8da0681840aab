"""The game's projections, wired into the event store's runner (settings.SELFPLAY_PROJECTIONS).

Keys are regions. `world` folds only its region's world stream, so a world checkpoint plus the
stream's tail always rebuilds it; `agents` and `leaderboard` also read agent streams' events
that name their region.
"""

from events.projections import ProjectionSpec
from selfplay import world


def _world_stream_region(event) -> list[str]:
    kind, _, name = event["streamId"].partition(":")
    return [name] if kind == "world" else []


def _region_of(event) -> list[str]:
    kind, _, name = event["streamId"].partition(":")
    if kind == "world":
        return [name]
    region = event["data"].get("region") if kind == "agent" else None
    return [region] if isinstance(region, str) else []


def _spec(name: str, keys, *, keys_by_stream: bool) -> ProjectionSpec:
    return ProjectionSpec(
        name=name,
        keys=keys,
        keys_by_stream=keys_by_stream,
        initial=lambda key: world.initial_state(name, key),
        fold=lambda state, events: world.fold(name, state, events),
        types=frozenset(world.PROJECTIONS[name].types),
    )


WORLD = _spec("world", _world_stream_region, keys_by_stream=True)
AGENTS = _spec("agents", _region_of, keys_by_stream=False)  # an agent's events name their region
LEADERBOARD = _spec("leaderboard", _world_stream_region, keys_by_stream=True)
