"""An external agent: plays one Selfplay agent from another process, through the public API only.

    python examples/external_agent.py --url http://127.0.0.1:8000 --agent ada --key spk_…
    (or SELFPLAY_AGENT_KEY=spk_… instead of --key; `manage.py selfplay_agent_key ada` issues one)

What it uses, and nothing else:
- `GET /projection/world?key=<region>` once per (re)connection: where the agent stands, its energy;
- `GET /checkpoint/latest?streamId=world:<region>`: where to start reading the world stream, so
  a long-lived world is not read from its first event;
- `WS /stream?streamId=world:<region>&from=<position>`: the world's events (the agent's outcomes
  carry its new position and energy) and one `heartbeat` per completed tick;
- `POST /command` with `Authorization: AgentKey <key>` and `{"kind": "decision", …}`: one move
  per tick, applied at the next tick (`appliesAtTick`); the tick records it as the agent's
  `agent.action.submitted` with `source: "external"`.

Faults it rides out: the socket dropping or the server restarting (it reconnects with backoff
and resumes after the last position it saw, so no event is missed or seen twice), `lagging` and
`overflow` notices (the server refills from its store; positions stay gapless), `409 conflict`
(a decision for that tick is already pending), `429 rate_limited` (it sits out Retry-After) and
5xx or unreachable HTTP (that tick is skipped). A refused key (401/403) ends it with exit 2.

Each accepted decision is printed to stdout as one JSON line; everything else goes to stderr.
Needs Python 3.11+ and `websockets` (pip install 'websockets>=13').
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, WebSocketException

log = logging.getLogger("external_agent")
HEADINGS = [(1, 0), (0, 1), (-1, 0), (0, -1)]
LOW_ENERGY = 25  # below it, rest instead of walking
HTTP_TIMEOUT = 5.0


class KeyRefused(Exception):
    """The server does not accept this agent key for this agent (401/403): retrying cannot help."""


@dataclass
class Agent:
    """What the program knows about its agent, from the projection and the world stream."""

    id: str
    region: str
    x: int | None = None
    y: int | None = None
    energy: int | None = None
    heading: int = 0
    last_failed: bool = False
    rng: random.Random = field(default_factory=random.Random)

    def observe(self, event: dict) -> None:
        """Fold one world-stream event that concerns this agent."""
        data = event.get("data") or {}
        if data.get("agentId") != self.id:
            return
        if event["type"] == "agent.spawned":
            self.x, self.y = data["x"], data["y"]
        elif event["type"] in ("agent.action.succeeded", "agent.action.failed"):
            effects = data.get("effects") or {}
            if "x" in effects:
                self.x, self.y = effects["x"], effects["y"]
            if "energy" in effects:
                self.energy = effects["energy"]
            self.last_failed = event["type"] == "agent.action.failed"

    def decide(self) -> dict:
        """Return the next action: rest when tired, else walk on, turning after a failed move
        (a wall, water, the edge) and now and then for no reason at all."""
        if self.energy is not None and self.energy < LOW_ENERGY:
            return {"type": "rest"}
        if self.last_failed or self.rng.random() < 0.2:
            self.heading = self.rng.randrange(len(HEADINGS))
            self.last_failed = False
        dx, dy = HEADINGS[self.heading]
        return {"type": "move", "dx": dx, "dy": dy}


class Api:
    """The HTTP half of the public API (urllib, run in a thread so the socket keeps reading)."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict, dict]:
        request = urllib.request.Request(
            self.base_url + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     **({"Authorization": f"AgentKey {self.key}"} if method == "POST" else {})})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
        except urllib.error.HTTPError as error:
            try:
                answer = json.loads(error.read() or b"{}")
            except ValueError:
                answer = {}
            return error.code, answer, dict(error.headers)

    async def get(self, path: str, **query: str) -> tuple[int, dict]:
        status, answer, _ = await asyncio.to_thread(self._call, "GET", f"{path}?{urllib.parse.urlencode(query)}")
        return status, answer

    async def decide(self, agent_id: str, action: dict, tick: int) -> tuple[int, dict, float]:
        """POST a decision; return (status, answer, seconds to wait before the next one)."""
        # One key per (agent, tick): a retry of a decision whose answer was lost is the same command.
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"selfplay-external:{agent_id}:{tick}"))
        body = {"kind": "decision", "streamId": f"agent:{agent_id}", "action": action, "idempotencyKey": key}
        status, answer, headers = await asyncio.to_thread(self._call, "POST", "/command", body)
        retry_after = float(headers.get("Retry-After") or 0) if status in (429, 503) else 0.0
        return status, answer, retry_after


class Player:
    def __init__(self, *, url: str, agent: Agent, api: Api, ticks: int | None) -> None:
        self.url = url.rstrip("/")
        self.agent = agent
        self.api = api
        self.ticks_left = ticks
        self.position: int | None = None  # the last world-stream position seen
        self.last_decided_tick = -1
        self.quiet_until = 0.0  # after a 429: no decision before this loop time
        self.reconnects = 0

    @property
    def ws_url(self) -> str:
        scheme, rest = self.url.split("://", 1)
        return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/stream"

    async def run(self) -> None:
        backoff = 0.5
        while self.ticks_left is None or self.ticks_left > 0:
            try:
                await self.session()
                backoff = 0.5
            except KeyRefused:
                raise
            except (TimeoutError, OSError, WebSocketException, InvalidHandshake, ResyncNeeded) as exc:
                delay = min(backoff, 10.0) * (0.5 + random.random())
                log.warning("connection lost (%s: %s); reconnecting in %.1f s", type(exc).__name__, exc, delay)
                self.reconnects += 1
                await asyncio.sleep(delay)
                backoff *= 2

    async def session(self) -> None:
        """One connection: (re)learn the agent's state, then read the world stream and decide."""
        if self.position is None:
            # Where the agent stands now; the events read from the checkpoint on bring it up to
            # date again (positions and energy in outcomes are absolute values, not deltas).
            await self.load_state()
            start = await self.start_position()
        else:
            start = self.position  # resume right after the last event seen
        url = f"{self.ws_url}?streamId=world:{self.agent.region}&from={start}"
        async with connect(url, origin=self.url, open_timeout=10, ping_interval=20, max_size=2**22) as ws:
            log.info("connected to world:%s from position %d", self.agent.region, start)
            self.position = start
            async for frame in ws:
                message = json.loads(frame)
                kind = message.get("type")
                if kind == "event":
                    self.on_event(message["event"])
                elif kind == "heartbeat":
                    if await self.on_tick(message["tick"]) and self.ticks_left == 0:
                        return
                elif kind == "error":
                    self.on_error(message.get("error") or {})
                # caught_up and command.result need nothing

    async def load_state(self) -> None:
        status, answer = await self.api.get("/projection/world", key=self.agent.region)
        if status != 200:
            raise ResyncNeeded(f"GET /projection/world answered {status}: {answer.get('error')}")
        entry = answer["state"]["agents"].get(self.agent.id)
        if entry is None:
            raise SystemExit(f"agent {self.agent.id} is not in region {self.agent.region} "
                             "(name its region with --region)")
        self.agent.x, self.agent.y, self.agent.energy = entry["x"], entry["y"], entry["energy"]

    async def start_position(self) -> int:
        """Where to start reading: the newest checkpoint of the world stream, else its beginning."""
        status, answer = await self.api.get("/checkpoint/latest", streamId=f"world:{self.agent.region}")
        if status == 200:
            return int(answer["checkpoint"]["position"])
        if status == 404:
            return 0  # a young world: no checkpoint yet
        raise ResyncNeeded(f"GET /checkpoint/latest answered {status}: {answer.get('error')}")

    def on_event(self, event: dict) -> None:
        position = event["position"]
        if position != self.position + 1:
            # The server promises strictly increasing positions with no gap; never fold past one.
            raise ResyncNeeded(f"expected position {self.position + 1}, got {position}")
        self.position = position
        self.agent.observe(event)

    def on_error(self, error: dict) -> None:
        code = error.get("code")
        if code in ("lagging", "overflow"):
            # The server missed live messages and refills from its store before anything newer.
            log.info("server notice %s: %s", code, error.get("message"))
        elif code == "invalid" and "headPosition" in (error.get("details") or {}):
            # `from` is past the head (the world was restored from a backup?): start over.
            log.warning("position %s is past the stream's head; starting over", self.position)
            self.position = None
        else:
            log.warning("server error %s: %s", code, error.get("message"))

    async def on_tick(self, tick: int) -> bool:
        """Decide the agent's move after tick `tick`; return whether a decision was submitted."""
        loop = asyncio.get_running_loop()
        if tick <= self.last_decided_tick or loop.time() < self.quiet_until:
            return False
        self.last_decided_tick = tick
        action = self.agent.decide()
        try:
            status, answer, retry_after = await self.api.decide(self.agent.id, action, tick)
        except (OSError, urllib.error.URLError) as exc:
            log.warning("tick %d: the decision was not sent (%s); skipping this tick", tick, exc)
            return False
        if status == 202:
            print(json.dumps({"tick": tick, "appliesAtTick": answer["appliesAtTick"], "eventId": answer["eventId"],
                              "action": action}), flush=True)
            if self.ticks_left is not None:
                self.ticks_left -= 1
            return True
        error = answer.get("error") or {}
        if status in (401, 403):
            raise KeyRefused(f"{status} {error.get('code')}: {error.get('message')}")
        if status == 409:
            log.info("tick %d: a decision for tick %s is already pending", tick, (error.get("details") or {}).get(
                "appliesAtTick"))
        elif status in (429, 503):
            self.quiet_until = loop.time() + max(retry_after, 1.0)
            log.warning("tick %d: %s; waiting %.0f s", tick, error.get("code"), max(retry_after, 1.0))
        else:
            log.warning("tick %d: decision refused, %s %s: %s", tick, status, error.get("code"), error.get("message"))
        return False


class ResyncNeeded(Exception):
    """The stream can no longer be followed from where it stands: reconnect."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Play one Selfplay agent from outside the daemon.")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default %(default)s)")
    parser.add_argument("--agent", required=True, help="the agent's id, e.g. ada")
    parser.add_argument("--key", default=os.environ.get("SELFPLAY_AGENT_KEY"),
                        help="its API key (default: $SELFPLAY_AGENT_KEY)")
    parser.add_argument("--region", default="meadow", help="the agent's region (default %(default)s)")
    parser.add_argument("--ticks", type=int, default=None, help="stop after this many accepted decisions")
    parser.add_argument("--seed", type=int, default=None, help="seed of the agent's random turns")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("give the agent's key with --key or SELFPLAY_AGENT_KEY")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s external_agent %(message)s")
    agent = Agent(args.agent, args.region, rng=random.Random(args.seed))
    player = Player(url=args.url, agent=agent, api=Api(args.url, args.key), ticks=args.ticks)

    async def play() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        try:
            await player.run()
        except KeyRefused as exc:
            log.error("the server refused the agent key: %s", exc)
            return 2
        except asyncio.CancelledError:
            log.info("stopped")
        log.info("done after %d reconnects", player.reconnects)
        return 0

    return asyncio.run(play())


if __name__ == "__main__":
    sys.exit(main())
