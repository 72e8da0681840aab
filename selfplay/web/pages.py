"""Pages of the web client (DESIGN §1 `templates/ static/`): thin views that render a template.

They live in the composition layer: a page may show what every app knows.

A page gets what it needs to start as one JSON blob (`page-config`); everything live comes
afterwards from the API and `WS /stream`, in `static/js/`.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_safe

from agents.capabilities.selectors import agent_capabilities
from agents.models import Agent, Region
from agents.selectors import tick_range
from events.selectors import projection_row
from selfplay.world import ACTION_TYPES, InvalidAction, rules, validate_action

from .overview import page_continuity

# How a person enters each action argument. Which arguments an action takes, in which order,
# and their defaults are read from `validate_action` itself (see `action_forms`), so the form
# follows the rules without a second copy of them; `sample` is a valid value, which the form
# starts with where a person picks from a list (so it opens on a valid action: move right).
FIELD_INPUTS: dict[str, dict] = {
    "dx": {"input": "step", "label": "Step across", "help": "−1 left, +1 right", "sample": 1},
    "dy": {"input": "step", "label": "Step down", "help": "−1 up, +1 down", "sample": 0},
    "resource": {"input": "choice", "label": "Resource", "options": list(rules.RESOURCES),
                 "sample": rules.RESOURCES[0]},
    "structure": {"input": "choice", "label": "Structure", "options": sorted(rules.STRUCTURES),
                  "sample": sorted(rules.STRUCTURES)[0]},
    "to": {"input": "agent", "label": "To agent", "help": "must stand next to this agent",
           "sample": "ada"},
    "amount": {"input": "number", "label": "Amount", "min": 1, "max": rules.INVENTORY_LIMIT, "sample": 1},
    "text": {"input": "text", "label": "Text", "maxLength": rules.SAY_MAX_CHARS, "sample": "hello"},
    "capability": {"input": "text", "label": "Capability", "maxLength": 32, "sample": "hash",
                   "help": "a capability the agent is granted (docs/capabilities.md)"},
    "args": {"input": "json", "label": "Arguments (JSON)", "maxLength": rules.USE_ARGS_MAX_CHARS,
             "sample": {}, "help": "a JSON object, e.g. {\"blob\": \"hello\"}"},
}


@cache
def action_forms() -> list[dict]:
    """Return, per action type, the fields of its override form.

    Probing `validate_action` with a bare `{"type": t}` names the required arguments; a valid
    sample then comes back normalised, with the optional ones filled in with their defaults.
    """
    forms = []
    for kind in ACTION_TYPES:
        try:
            validate_action({"type": kind})
            required: list[str] = []
        except InvalidAction as exc:
            required = [name for name, problem in exc.details.items() if problem == "required"]
        normalised = validate_action({"type": kind, **{name: FIELD_INPUTS[name]["sample"] for name in required}})
        fields = []
        for name in normalised:
            if name == "type":
                continue
            spec = {key: value for key, value in FIELD_INPUTS[name].items() if key != "sample"}
            spec.update(name=name, required=name in required,
                        default=None if name in required else normalised[name])
            picked = spec["input"] in ("step", "choice", "number")
            spec["initial"] = spec["default"] if spec["default"] is not None else (
                FIELD_INPUTS[name]["sample"] if picked else None)
            fields.append(spec)
        forms.append({"type": kind, "fields": fields})
    return forms


# What a person calls each terrain and each reason an action fails (selfplay/world/evaluate.py);
# tests/browser/test_action_forms.py checks that every reason evaluate.py can give has its words.
TERRAIN_NAMES = {rules.GRASS: "grass", rules.WATER: "water", rules.BUSH: "bush", rules.FOREST: "forest",
                 rules.ROCKS: "rocks"}
TERRAIN_LABELS = {rules.GRASS: "grass", rules.WATER: "water (impassable)", rules.BUSH: "berry bushes",
                  rules.FOREST: "forest", rules.ROCKS: "rocks"}
FAILURE_REASONS = {
    "out_of_bounds": "that is off the edge of the map",
    "blocked": "water is in the way",
    "occupied": "someone is standing there",
    "lost_conflict": "lost a conflict over the tile",
    "nothing_to_gather": "nothing grows there",
    "tile_empty": "nothing is left there to gather",
    "inventory_full": "their pack is full",
    "not_edible": "that is not food",
    "insufficient_resources": "they do not carry enough",
    "structure_exists": "something is already built there",
    "structure_limit": "they already own as many structures as the rules allow",
    "invalid_target": "they cannot give to themselves",
    "unknown_agent": "there is no such agent here",
    "not_adjacent": "not next to them",
    "recipient_full": "the other's pack is full",
    "exhausted": "too exhausted: no energy left",
    "not_enough_energy": "not enough energy",
    "invalid_action": "that is not a valid action",
    "agent_paused": "the agent was paused",
}


def rules_config() -> dict:
    """Return the rules the browser's world reducer, map and feed need."""
    return {
        "terrain": [{"code": code, "name": TERRAIN_NAMES[code], "label": TERRAIN_LABELS[code],
                     "resource": rules.RESOURCE_OF_TERRAIN.get(code)} for code in rules.TERRAIN_CODES],
        "failureReasons": FAILURE_REASONS,
        "resources": list(rules.RESOURCES),
        "capacity": rules.CAPACITY,
        "regrowEvery": rules.REGROW_EVERY,
        "terrainOfResource": rules.TERRAIN_OF_RESOURCE,
        "startEnergy": rules.START_ENERGY,
        "maxEnergy": rules.MAX_ENERGY,
        "inventoryLimit": rules.INVENTORY_LIMIT,
    }


def _api_urls() -> dict:
    return {
        "checkpointLatest": reverse("checkpoint-latest"),
        "checkpointAt": reverse("checkpoint-at"),
        "sync": reverse("sync"),
        "worldTick": reverse("world-tick", args=["REGION", "0"]).removesuffix("0") + "TICK",
        "agentOutcomes": reverse("agent-outcomes", args=["REGION", "AGENT_ID"]),
        "agentCapabilities": reverse("agent-capabilities", args=["REGION", "AGENT_ID"]),
        "stream": "/stream",
        "command": reverse("command"),
        "agentPage": reverse("pages:agent", args=["AGENT_ID"]),
        "worldPage": reverse("pages:world", args=["REGION"]),
    }


def _tick_of(region_id: str) -> int:
    row = projection_row("world", region_id)
    return row["state"]["tick"] if row else 0


def _first_tick(region_id: str) -> int | None:
    ticks = tick_range(region_id=region_id)
    return ticks[0] if ticks else None


@require_safe  # pages answer GET and HEAD; any other method is 405
def home(request):
    """List the regions, with their tick and number of agents."""
    regions = [
        {"id": region.id, "tick": _tick_of(region.id), "agents": region.agents.count(),
         "tickSeconds": region.tick_seconds, "size": f"{region.width} × {region.height}"}
        for region in Region.objects.all()
    ]
    return render(request, "selfplay/home.html", {"regions": regions})


@require_safe
def world_page(request, region_id: str):
    """The live map, event feed, agent list and cadence of one region."""
    region = get_object_or_404(Region, id=region_id)
    owned = (list(Agent.objects.filter(owner=request.user, region=region).values_list("id", flat=True))
             if request.user.is_authenticated else [])
    config = {
        "page": "world", "region": region.id, "streamId": region.stream_id,
        "tickSeconds": region.tick_seconds, "rules": rules_config(), "urls": _api_urls(),
        "ownedAgents": owned, "firstTick": _first_tick(region.id),
    }
    config["urls"]["health"] = reverse("world-health", args=[region.id])
    return render(request, "selfplay/world.html", {
        "region": region, "config": config, "continuity": page_continuity(region)})


@require_safe
def agent_page(request, agent_id: str):
    """One agent's history, plan, energy and inventory; the override panel for its owner."""
    agent = get_object_or_404(Agent.objects.select_related("owner", "region"), id=agent_id)
    user = request.user
    can_command = user.is_authenticated and (user.is_staff or agent.owner_id == user.pk)
    config = {
        "page": "agent", "agentId": agent.id, "name": agent.name, "brain": agent.brain,
        "region": agent.region_id, "streamId": agent.stream_id, "worldStreamId": agent.region.stream_id,
        "tickSeconds": agent.region.tick_seconds, "status": agent.status, "rules": rules_config(),
        "urls": _api_urls(), "canCommand": can_command,
        "reasonRequired": bool(can_command and user.is_staff),
        "actionForms": action_forms() if can_command else [],
        "firstTick": _first_tick(agent.region_id),
    }
    capabilities = agent_capabilities(region_id=agent.region_id, agent_id=agent.id, user=user)
    return render(request, "selfplay/agent.html", {"agent": agent, "can_command": can_command, "config": config,
                                                   "capabilities": capabilities})


@require_safe
@login_required
def my_agents(request):
    """The agents the logged-in player owns, with their latest energy, score and action."""
    agents = list(Agent.objects.filter(owner=request.user).select_related("region"))
    states: dict[str, dict] = {}
    for region_id in {agent.region_id for agent in agents}:
        row = projection_row("agents", region_id)
        states.update(row["state"]["agents"] if row else {})
    rows = [{"agent": agent, "state": states.get(agent.id, {})} for agent in agents]
    return render(request, "selfplay/my_agents.html", {"rows": rows})


class LoginView(auth_views.LoginView):
    template_name = "selfplay/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("pages:my-agents")


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("pages:home")
