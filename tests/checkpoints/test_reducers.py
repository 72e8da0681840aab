"""The pure stream reducers: no database, milliseconds."""

import copy

from agents import agent_stream as agent_state
from checkpoints import reducers

from .agent_events import (
    DECISION,
    EXTERNAL,
    FAILED_BRAIN,
    OVERRIDDEN,
    OVERRIDE,
    PAUSED,
    PLAN,
    RESUMED,
    UNKNOWN,
)

# --- the pure reducers -------------------------------------------------------------------------


def test_agent_state_folds_decisions_plans_status_and_overrides():
    events = [DECISION, OVERRIDE, OVERRIDDEN, PLAN, PAUSED, FAILED_BRAIN, UNKNOWN, EXTERNAL]
    assert agent_state.fold(agent_state.initial_state("ada"), events) == {
        "agentId": "ada", "events": 8, "status": "paused", "lastTick": 5,
        "lastAction": {"type": "idle"}, "lastSource": "brain", "plan": {"goal": "wood"},
        "decisions": 3, "sources": {"brain": 2, "override": 1}, "brainErrors": 1,
        "externalDecisions": 1, "overrides": 1,
        "lastOverride": {"action": {"type": "rest"}, "reason": "tired", "appliesAtTick": 4,
                         "actor": "player:pat"},
    }
    assert agent_state.fold(agent_state.initial_state("ada"), [PAUSED, RESUMED])["status"] == "active"


def test_agent_state_counts_an_unknown_event_and_changes_nothing_else():
    before = agent_state.fold(agent_state.initial_state("ada"), [DECISION])
    after = agent_state.apply(before, UNKNOWN)
    assert after == {**before, "events": 2}
    assert agent_state.apply(before, {"type": "agent.action.submitted"})["decisions"] == 2  # total: no data


def test_agent_state_never_mutates_its_input_and_fold_equals_apply_one_by_one():
    events = [DECISION, OVERRIDE, OVERRIDDEN, PLAN, PAUSED, FAILED_BRAIN, UNKNOWN]
    start = agent_state.fold(agent_state.initial_state("ada"), [DECISION])
    frozen = copy.deepcopy(start)
    one_by_one = start
    for event in events:
        one_by_one = agent_state.apply(one_by_one, event)
    assert agent_state.fold(start, events) == one_by_one
    assert start == frozen
    assert agent_state.fold(start, []) is start


def test_the_generic_stream_state_counts_events_by_type():
    events = [{"type": "checkpoint.created", "data": {}}, {"type": "system.started", "data": {}},
              {"type": "checkpoint.created", "data": {}}]
    start = reducers.initial_state("system:checkpoints")
    assert reducers.fold(start, events) == {
        "streamId": "system:checkpoints", "events": 3, "lastType": "checkpoint.created",
        "types": {"checkpoint.created": 2, "system.started": 1},
    }
    assert start == {"streamId": "system:checkpoints", "events": 0, "lastType": None, "types": {}}
