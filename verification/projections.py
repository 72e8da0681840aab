"""The `playerhood` projection (key = region): each agent's latest published signals."""

from events.projections import ProjectionSpec


def _keys(event) -> list[str]:
    if event["streamId"] == "verification:playerhood" and isinstance(event["data"].get("region"), str):
        return [event["data"]["region"]]
    return []


def _fold(state: dict, events: list[dict]) -> dict:
    agents = dict(state["agents"])
    for event in events:
        data = event["data"]
        agents[data["agentId"]] = {k: data[k] for k in (
            "agency", "continuity", "accountability", "score", "status", "tick", "window") if k in data}
    distribution = {"verified": 0, "provisional": 0, "suspect": 0}
    for entry in agents.values():
        distribution[entry["status"]] = distribution.get(entry["status"], 0) + 1
    return {"agents": agents, "distribution": distribution}


PLAYERHOOD = ProjectionSpec(
    name="playerhood",
    keys=_keys,
    initial=lambda key: {"agents": {}, "distribution": {"verified": 0, "provisional": 0, "suspect": 0}},
    fold=_fold,
    types=frozenset({"verification.signals.updated"}),
)
