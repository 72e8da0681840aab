"""Operators' view of regions, agents, their API keys and pending commands."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from selfplay.admin_actions import ReasonAndActionForm, operator_of, with_reason

from .auth import new_credential
from .capabilities import admin as capabilities_admin  # noqa: F401 - registers the capability pages
from .capabilities import registry
from .capabilities.services import grant_capabilities
from .commands import Command, submit_command
from .models import Agent, AgentKey, PendingCommand, PlayerToken, Region
from .services import configure_agent


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """Read-only: a region is what its `world.created` event says (its interval fixes when each
    tick is due), and its stream outlives any row; editing or deleting the row would change the
    world behind the log's back."""

    list_display = ["id", "seed", "width", "height", "tick_seconds", "epoch"]

    def has_add_permission(self, request):
        return False  # regions begin with a world.created event: use the services

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class UserAdmin(auth_admin.UserAdmin):
    """Usernames are how the log names people (`player:<name>`, `operator:<name>`, an agent's
    owner): renaming a user in place would split one person's history in two."""

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is None else [*fields, "username"]


admin.site.unregister(User)
admin.site.register(User, UserAdmin)


def _command(request, agent: Agent, kind: str, reason: str, action: dict | None = None) -> str:
    """Submit an operator command for an agent; it lands in the log like any other command."""
    answer = submit_command(principal=request.user, command=Command(
        kind=kind, stream_id=agent.stream_id, action=action, reason=reason))
    return f"{kind} recorded as event {answer['eventId']}, applies at tick {answer['appliesAtTick']}"


class AgentForm(forms.ModelForm):
    """Brain from the installed ones only: an unknown name would fail every tick of the agent."""

    brain = forms.ChoiceField(choices=lambda: [(name, name) for name in sorted(settings.SELFPLAY_BRAINS)])
    capability_grants = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Capability grants",
        help_text="What the agent may use; each change is recorded (agent.capabilities.granted).",
        choices=lambda: [(s["name"], f"{s['name']} ({s['status']}, cost {s['cost']})") for s in registry.statuses()])

    class Meta:
        model = Agent
        fields = ["brain", "owner", "capability_grants"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentForm
    list_display = ["id", "name", "region", "brain", "owner", "status", "timeline"]
    list_filter = ["region", "brain", "status"]
    search_fields = ["id", "name", "owner__username"]
    readonly_fields = ["id", "name", "region", "status", "created_at"]
    fields = ["id", "name", "region", "brain", "owner", "capability_grants", "status", "created_at"]
    actions = ["pause", "resume", "override"]

    def has_add_permission(self, request):
        return False  # agents are spawned into the world through the log

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Through the service: the change is recorded in the log and reaches the projections.
        changed = configure_agent(agent_id=obj.pk, actor=operator_of(request),
                                  owner=form.cleaned_data["owner"], brain=form.cleaned_data["brain"])
        if changed:
            messages.info(request, f"Recorded {', '.join(changed)} in world:{obj.region_id}.")
        if grant_capabilities(agent_id=obj.pk, grants=form.cleaned_data["capability_grants"], actor=operator_of(request)):
            messages.info(request, f"Recorded agent.capabilities.granted in {obj.stream_id}.")

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
                                                              data["action"]))


class CredentialAdmin(admin.ModelAdmin):
    """Hashed credentials: only a prefix is kept in the clear; a new one is shown once, when made."""

    holder = ""    # the field naming whose credential it is
    kind = ""      # new_credential's kind: "spk", "spt"
    keyword = ""   # the Authorization scheme that sends it
    list_filter = ["revoked_at"]
    actions = ["revoke"]

    def get_list_display(self, request):
        return ["prefix", self.holder, "created_at", "revoked_at"]

    def get_fields(self, request, obj=None):
        return [self.holder, "prefix", "created_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return [self.holder, "prefix", "created_at", "revoked_at"] if obj else ["prefix", "created_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        secret, obj.prefix, obj.digest = new_credential(self.kind)
        obj.save()
        messages.warning(request, f"The new credential for {getattr(obj, self.holder)} is {secret} — copy it now, "
                                  f"it is not shown again. Send it as the header `Authorization: {self.keyword} …`.")

    @admin.action(description="Revoke the selected credentials")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked {count}.")


@admin.register(AgentKey)
class AgentKeyAdmin(CredentialAdmin):
    holder, kind, keyword = "agent", "spk", "AgentKey"
    search_fields = ["agent__id", "prefix"]


@admin.register(PlayerToken)
class PlayerTokenAdmin(CredentialAdmin):
    holder, kind, keyword = "user", "spt", "Token"
    search_fields = ["user__username", "prefix"]


@admin.register(PendingCommand)
class PendingCommandAdmin(admin.ModelAdmin):
    """Accepted commands waiting for their tick: to watch, never to edit or drop (each one must end
    in the log, applied or superseded)."""

    list_display = ["agent", "applies_at_tick", "source", "actor", "event_id", "created_at"]
    list_filter = ["source"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

