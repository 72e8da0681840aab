"""Per-stream projections, so that every stream has a state to checkpoint (settings.SELFPLAY_PROJECTIONS).

`world:<r>` streams already have one (`world`, key r). `agent_stream` (key = agent id) folds only
the events of `agent:<id>`; `stream` (key = stream id) counts the events of each `system:*` and
`verification:*` stream. Neither reads any other stream, so a checkpoint of a stream plus that
stream's tail always rebuilds its state.
"""

from agents import agent_stream
from events.projections import ProjectionSpec

from . import reducers

GENERIC_KINDS = frozenset({"system", "verification"})


def _agent_stream(event) -> list[str]:
    kind, _, name = event["streamId"].partition(":")
    return [name] if kind == "agent" else []


def _generic_stream(event) -> list[str]:
    stream_id = event["streamId"]
    return [stream_id] if stream_id.partition(":")[0] in GENERIC_KINDS else []


AGENT_STREAM = ProjectionSpec(
    name="agent_stream", keys=_agent_stream, initial=agent_stream.initial_state, fold=agent_stream.fold,
    keys_by_stream=True,
)
STREAM = ProjectionSpec(
    name="stream", keys=_generic_stream, initial=reducers.initial_state, fold=reducers.fold,
    keys_by_stream=True,
)
