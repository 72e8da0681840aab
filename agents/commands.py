"""Commands from players, operators and external agents (DESIGN §5 `POST /command`).

Every accepted command is an event in the agent's stream, with its actor; overrides and
external decisions also wait as a `PendingCommand` for the next tick, which uses them in place
of the brain and records the result with `causationId` pointing back to the command.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from events.projections import load_state
from events.store import ANY, NewEvent, record
from events.types import STREAM_ID_RE
from selfplay import ratelimit
from selfplay.canonical import canonical_json, sha256_hex, storable
from selfplay.errors import Refused
from selfplay.world import InvalidAction, validate_action

from .auth import AgentPrincipal, actor_of
from .models import Agent, CommandReceipt, PendingCommand, Region

logger = logging.getLogger(__name__)
KINDS = ("override", "decision", "pause", "resume")
MAX_REASON = 500
UNAVAILABLE_RETRY_SECONDS = 5
_KEY_NAMESPACE = uuid.UUID("6f1c0000-5e1f-4a1a-9000-000000000002")

class CommandRefused(Refused):
    """A command that is not accepted; `code` is a DESIGN §5 error code."""


@dataclass(frozen=True)
class Command:
    kind: str
    stream_id: str
    action: dict[str, Any] | None = None
    reason: str = ""
    idempotency_key: str | None = None

    @property
    def fingerprint(self) -> str:
        """Return a digest of what the command asks, to tell a faithful retry from a reused key."""
        return sha256_hex(canonical_json(
            {"kind": self.kind, "streamId": self.stream_id, "action": self.action, "reason": self.reason}))


def submit_command(*, principal, command: Command) -> dict:
    """Accept a command or raise CommandRefused; return the answer body of a 202.

    A retry with the same idempotency key and body returns the first answer, even when the
    retries race, and costs no rate-limit budget; the key with another body is refused.
    """
    actor = actor_of(principal)
    if actor is None:
        raise CommandRefused("unauthenticated", "Log in, or send an API token or agent key, to submit commands.")
    if (answer := _first_answer(actor, command)) is not None:
        return answer
    # Every new attempt costs budget, refused ones too: probing other agents (404, 403) is limited
    # like sending commands.
    _rate_limit(actor)
    agent = _agent_of(command.stream_id)
    _authorize(principal, agent, command)
    action = _validate(principal, command)
    try:
        return _accept(actor, agent, command, action)
    except IntegrityError:
        # A concurrent twin (same idempotency key, or a second override for the same tick) won.
        if (answer := _first_answer(actor, command)) is not None:
            ratelimit.refund(f"commands:{actor}")
            return answer
        raise _pending_conflict(agent, command) from None


def _first_answer(actor: str, command: Command) -> dict | None:
    """Return the recorded answer to this actor's idempotency key, or None when it is new."""
    if not command.idempotency_key:
        return None
    receipt = (CommandReceipt.objects.filter(actor=actor, idempotency_key=command.idempotency_key)
               .values("response", "fingerprint").first())
    if receipt is None:
        return None
    if receipt["fingerprint"] and receipt["fingerprint"] != command.fingerprint:
        raise CommandRefused("idempotency_mismatch", "This idempotencyKey was already used for another "
                             "command; use a new key for a new command.",
                             {"idempotencyKey": command.idempotency_key, "eventId": receipt["response"]["eventId"]})
    return receipt["response"]


def _agent_of(stream_id: str) -> Agent:
    if not isinstance(stream_id, str) or not STREAM_ID_RE.match(stream_id) or not stream_id.startswith("agent:"):
        raise CommandRefused("invalid", "streamId must name an agent stream, like agent:ada.",
                             {"streamId": "expected agent:<id>"})
    agent = Agent.objects.select_related("owner", "region").filter(id=stream_id.partition(":")[2]).first()
    if agent is None:
        raise CommandRefused("not_found", f"No agent {stream_id}.", {"streamId": stream_id})
    return agent


def _authorize(principal, agent: Agent, command: Command) -> None:
    is_agent_key = isinstance(principal, AgentPrincipal)
    if command.kind == "decision":
        if is_agent_key and principal.agent_id == agent.id:
            return
        raise CommandRefused("forbidden", "Only the agent itself, with its own key, submits decisions.")
    if is_agent_key:
        raise CommandRefused("forbidden", f"An agent key cannot submit {command.kind} commands.")
    if principal.is_staff or (agent.owner_id is not None and agent.owner_id == principal.pk):
        return
    raise CommandRefused("forbidden", f"Only {agent.id}'s owner or an operator may {command.kind} it.")


def _rate_limit(actor: str) -> None:
    try:
        decision = ratelimit.hit(f"commands:{actor}", limit=settings.SELFPLAY_COMMAND_RATE_LIMIT,
                                 window_seconds=settings.SELFPLAY_COMMAND_RATE_WINDOW_SECONDS)
    except ratelimit.RateLimitUnavailable as exc:
        logger.warning("commands refused: the rate limiter is unavailable (%s)", exc)
        raise CommandRefused("unavailable", "Commands are unavailable for a moment; try again shortly.",
                             {"retryAfter": UNAVAILABLE_RETRY_SECONDS},
                             retry_after=UNAVAILABLE_RETRY_SECONDS) from exc
    if not decision.allowed:
        raise CommandRefused("rate_limited",
                             f"At most {decision.limit} commands per window; retry in {decision.retry_after} s.",
                             {"limit": decision.limit, "retryAfter": decision.retry_after},
                             retry_after=decision.retry_after)


def _validate(principal, command: Command) -> dict | None:
    reason = command.reason or ""
    if len(reason) > MAX_REASON:
        raise CommandRefused("invalid", f"reason is longer than {MAX_REASON} characters.", {"reason": "too long"})
    if not storable(reason):
        raise CommandRefused("invalid", "reason holds characters that cannot be stored.",
                             {"reason": "no NUL characters or unpaired surrogates"})
    if principal.is_staff and command.kind != "decision" and not reason.strip():
        raise CommandRefused("invalid", "Operators must give a reason.", {"reason": "required for operators"})
    if command.kind in ("pause", "resume"):
        return None
    if command.action is None:
        raise CommandRefused("invalid", f"A {command.kind} needs an action.", {"action": "required"})
    try:
        return validate_action(command.action)
    except InvalidAction as exc:
        raise CommandRefused("invalid", f"Invalid action: {exc}", {"action": exc.details}) from exc


@transaction.atomic
def _accept(actor: str, agent: Agent, command: Command, action: dict | None) -> dict:
    # The region's row is the tick's lock too (see agents.services._run_tick): holding it, the
    # tick read below cannot be overtaken by a tick that already drained the pending commands.
    # Commands for one region queue on it, so a retry racing the first try finds its receipt here.
    Region.objects.select_for_update().filter(pk=agent.region_id).first()
    if (answer := _first_answer(actor, command)) is not None:
        ratelimit.refund(f"commands:{actor}")
        return answer
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    world_state, _ = load_state("world", agent.region_id, shared=True)
    applies_at = world_state["tick"] + 1
    base = {"agentId": agent.id, "region": agent.region_id, "appliesAtTick": applies_at}
    if command.kind in ("override", "decision"):
        source = PendingCommand.Source.OVERRIDE if command.kind == "override" else PendingCommand.Source.EXTERNAL
        if PendingCommand.objects.filter(agent=agent, applies_at_tick=applies_at, source=source).exists():
            raise _pending_conflict(agent, command, applies_at)
        if command.kind == "override":
            event_type, data = "player.override.submitted", {**base, "action": action, "reason": command.reason}
        else:
            event_type, data = "agent.decision.submitted", {**base, "action": action}
    else:
        target = Agent.Status.PAUSED if command.kind == "pause" else Agent.Status.ACTIVE
        if agent.status == target:
            raise CommandRefused("conflict", f"{agent.id} is already {target}.", {"status": agent.status})
        event_type, data = f"agent.{'paused' if command.kind == 'pause' else 'resumed'}", {**base, "reason": command.reason}
    metadata = {"actor": actor}
    if command.idempotency_key:
        metadata["idempotencyKey"] = command.idempotency_key
    event_id = (str(uuid.uuid5(_KEY_NAMESPACE, f"{actor}\n{command.idempotency_key}"))
                if command.idempotency_key else None)  # None: the store makes one
    recorded = record([(agent.stream_id, [NewEvent(event_type, data, metadata, id=event_id)], ANY)])[0]
    if command.kind in ("override", "decision"):
        PendingCommand.objects.create(agent=agent, applies_at_tick=applies_at, source=source, action=action,
                                      event_id=recorded.id, actor=actor, reason=command.reason)
    else:
        agent.status = target
        agent.save(update_fields=["status"])
    answer = {"accepted": True, "eventId": recorded.id, "streamId": recorded.stream_id,
              "position": recorded.position, "appliesAtTick": applies_at}
    if command.idempotency_key:
        CommandReceipt.objects.create(actor=actor, idempotency_key=command.idempotency_key, response=answer,
                                      fingerprint=command.fingerprint)
    return answer


def _pending_conflict(agent: Agent, command: Command, applies_at: int | None = None) -> CommandRefused:
    pending = PendingCommand.objects.filter(agent=agent).order_by("-applies_at_tick").first()
    details = {}
    if pending is not None:
        details = {"pendingEventId": pending.event_id, "pendingActor": pending.actor,
                   "appliesAtTick": pending.applies_at_tick, "source": pending.source}
    return CommandRefused("conflict", f"{agent.id} already has a pending {command.kind} for tick "
                          f"{applies_at or details.get('appliesAtTick')}.", details)
