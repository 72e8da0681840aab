"""Operators' view of regions, agents, their API keys and pending commands."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from selfplay.admin_actions import ReasonAndActionForm, with_reason

from .auth import new_key
from .commands import Command, CommandRefused, submit_command
from .models import Agent, AgentKey, PendingCommand, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["id", "seed", "width", "height", "tick_seconds", "epoch"]
    readonly_fields = ["id", "seed", "width", "height", "epoch", "created_at"]

    def has_add_permission(self, request):
        return False  # regions begin with a world.created event: use the services


def _command(request, agent: Agent, kind: str, reason: str, action: dict | None = None) -> str:
    """Submit an operator command for an agent; it lands in the log like any other command."""
    try:
        answer = submit_command(principal=request.user, command=Command(
            kind=kind, stream_id=agent.stream_id, action=action, reason=reason))
    except CommandRefused as refused:
        raise ValueError(f"{refused.message} {refused.details or ''}".strip()) from refused
    return f"{kind} recorded as event {answer['eventId']}, applies at tick {answer['appliesAtTick']}"


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "region", "brain", "owner", "status", "timeline"]
    list_filter = ["region", "brain", "status"]
    search_fields = ["id", "name", "owner__username"]
    readonly_fields = ["id", "region", "status", "created_at"]
    fields = ["id", "name", "region", "brain", "owner", "status", "created_at"]
    actions = ["pause", "resume", "override"]

    def has_add_permission(self, request):
        return False  # agents are spawned into the world through the log

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="log")
    def timeline(self, obj):
        return format_html('<a href="{}?stream__id__exact={}">timeline</a>',
                           reverse("admin:events_event_changelist"), obj.stream_id)

    @admin.action(description="Pause (with a reason)")
    def pause(self, request, queryset):
        return with_reason(self, request, queryset, title="Pause agents",
                           apply=lambda agent, data: _command(request, agent, "pause", data["reason"]))

    @admin.action(description="Resume (with a reason)")
    def resume(self, request, queryset):
        return with_reason(self, request, queryset, title="Resume agents",
                           apply=lambda agent, data: _command(request, agent, "resume", data["reason"]))

    @admin.action(description="Override the next action (with a reason)")
    def override(self, request, queryset):
        return with_reason(self, request, queryset, title="Override agents", form_class=ReasonAndActionForm,
                           apply=lambda agent, data: _command(request, agent, "override", data["reason"],
                                                              data["action_json"]))


@admin.register(AgentKey)
class AgentKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "agent", "created_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["agent__id", "prefix"]
    fields = ["agent", "prefix", "created_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return ["agent", "prefix", "created_at", "revoked_at"] if obj else ["prefix", "created_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        key, obj.prefix, obj.digest = new_key()
        obj.save()
        messages.warning(request, f"The new key for {obj.agent_id} is {key} — copy it now, it is not shown again. "
                                  "Send it as the header `Authorization: AgentKey <key>`.")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked {count} key(s).")


@admin.register(PendingCommand)
class PendingCommandAdmin(admin.ModelAdmin):
    list_display = ["agent", "applies_at_tick", "source", "actor", "created_at"]
    list_filter = ["source"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
