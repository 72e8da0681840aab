"""Agent-stream events as reducers read them (wire-shaped dicts), shared by the tests."""

DECISION = {"type": "agent.action.submitted",
            "data": {"tick": 3, "region": "vale", "action": {"type": "move", "dx": 1, "dy": 0}, "source": "brain"}}
OVERRIDE = {"type": "player.override.submitted", "metadata": {"actor": "player:pat"},
            "data": {"agentId": "ada", "region": "vale", "appliesAtTick": 4,
                     "action": {"type": "rest"}, "reason": "tired"}}
OVERRIDDEN = {"type": "agent.action.submitted",
              "data": {"tick": 4, "region": "vale", "action": {"type": "rest"}, "source": "override"}}
FAILED_BRAIN = {"type": "agent.action.submitted",
                "data": {"tick": 5, "region": "vale", "action": {"type": "idle"}, "source": "brain",
                         "brainError": "RuntimeError: boom"}}
PLAN = {"type": "agent.plan.updated", "data": {"agentId": "ada", "region": "vale", "tick": 5, "plan": {"goal": "wood"}}}
PAUSED = {"type": "agent.paused", "data": {"agentId": "ada"}}
RESUMED = {"type": "agent.resumed", "data": {"agentId": "ada"}}
UNKNOWN = {"type": "agent.sang", "data": {"song": "la"}}
EXTERNAL = {"type": "agent.decision.submitted", "data": {"agentId": "ada", "appliesAtTick": 6, "action": {"type": "rest"}}}
