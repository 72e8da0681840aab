"""Pages of the web client (DESIGN §1 `templates/ static/`): thin views that render a template.

A page gets what it needs to start as one JSON blob (`page-config`); everything live comes
afterwards from the API and `WS /stream`, in `static/js/`.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy

from events.models import Projection
from events.selectors import projection_row
from selfplay.world import ACTION_TYPES, InvalidAction, rules, validate_action

from .models import Agent, Region

# How a person enters each action argument. Which arguments an action takes, in which order,
# and their defaults are read from `validate_action` itself (see `action_forms`), so the form
# follows the rules without a second copy of them; `sample` is any valid value.
FIELD_INPUTS: dict[str, dict] = {
    "dx": {"input": "step", "label": "Step across", "help": "−1 left, +1 right", "sample": 1},
    "dy": {"input": "step", "label": "Step down", "help": "−1 up, +1 down", "sample": 1},
    "resource": {"input": "choice", "label": "Resource", "options": list(rules.RESOURCES),
                 "sample": rules.RESOURCES[0]},
    "structure": {"input": "choice", "label": "Structure", "options": sorted(rules.STRUCTURES),
                  "sample": sorted(rules.STRUCTURES)[0]},
    "to": {"input": "agent", "label": "To agent", "help": "must stand next to this agent",
           "sample": "ada"},
    "amount": {"input": "number", "label": "Amount", "min": 1, "max": rules.INVENTORY_LIMIT, "sample": 1},
    "text": {"input": "text", "label": "Text", "maxLength": rules.SAY_MAX_CHARS, "sample": "hello"},
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
            fields.append(spec)
        forms.append({"type": kind, "fields": fields})
    return forms


def rules_config() -> dict:
    """Return the rule numbers the browser's world reducer and map need."""
    return {
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
        "sync": reverse("sync"),
        "stream": "/stream",
        "command": reverse("command"),
        "agentPage": reverse("pages:agent", args=["AGENT_ID"]),
        "worldPage": reverse("pages:world", args=["REGION"]),
    }


def _tick_of(region_id: str) -> int:
    row = projection_row("world", region_id)
    return row["state"]["tick"] if row else 0


def home(request):
    """List the regions, with their tick and number of agents."""
    regions = [
        {"id": region.id, "tick": _tick_of(region.id), "agents": region.agents.count(),
         "tickSeconds": region.tick_seconds, "size": f"{region.width} × {region.height}"}
        for region in Region.objects.all()
    ]
    return render(request, "selfplay/home.html", {"regions": regions})


def world_page(request, region_id: str):
    """The live map, event feed, agent list and cadence of one region."""
    region = get_object_or_404(Region, id=region_id)
    owned = (list(Agent.objects.filter(owner=request.user, region=region).values_list("id", flat=True))
             if request.user.is_authenticated else [])
    config = {
        "page": "world", "region": region.id, "streamId": region.stream_id,
        "tickSeconds": region.tick_seconds, "rules": rules_config(), "urls": _api_urls(),
        "ownedAgents": owned,
    }
    return render(request, "selfplay/world.html", {
        "region": region, "config": config, "continuity": _continuity(region)})


def _continuity(region: Region) -> dict:
    """The continuity tracker's view of a region, as of this page load (DESIGN §7)."""
    from verification.models import Flag
    from verification.selectors import region_continuity

    agent_subjects = [f"agent:{a}" for a in Agent.objects.filter(region=region).values_list("id", flat=True)]
    flags = Flag.objects.exclude(status=Flag.Status.RESOLVED).filter(
        subject__in=[region.stream_id, *agent_subjects])
    playerhood = Projection.objects.filter(name="playerhood", key=region.id).values_list("state", flat=True).first()
    return {**region_continuity(region), "openFlags": flags.count(),
            "flagKinds": sorted(set(flags.values_list("kind", flat=True))),
            "playerhood": (playerhood or {}).get("distribution", {})}


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
    }
    return render(request, "selfplay/agent.html", {"agent": agent, "can_command": can_command, "config": config})


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
