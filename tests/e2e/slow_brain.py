"""TEST-ONLY: a brain whose plan() takes seconds, as one that asks a language model would.

Each call appends one JSON line to the file named by SELFPLAY_TEST_SLOW_PLAN_LOG: the agent, the
tick it planned at, when it started and ended (Unix time), and whether a database transaction
was open meanwhile. Its tick() answers at once (idle).
"""

from __future__ import annotations

import json
import os
import time

from django.db import connection

from agents.brains.base import Brain

PLAN_SECONDS = 5.0


class SlowPlanner(Brain):
    def plan(self, agent, world_state):
        started = time.time()
        time.sleep(float(os.environ.get("SELFPLAY_TEST_SLOW_PLAN_SECONDS", PLAN_SECONDS)))
        note = {"agent": agent.id, "tick": agent.tick, "started": started, "ended": time.time(),
                "inAtomicBlock": connection.in_atomic_block}
        path = os.environ.get("SELFPLAY_TEST_SLOW_PLAN_LOG")
        if path:
            with open(path, "a") as log:
                log.write(json.dumps(note) + "\n")
        return {"slow": True, "plannedAt": agent.tick}

    def tick(self, agent, world_state):
        return []
