"""Operators' view of regions, agents, their API keys and pending commands."""

from django.contrib import admin, messages
from django.utils import timezone

from .auth import new_key
from .models import Agent, AgentKey, PendingCommand, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["id", "seed", "width", "height", "tick_seconds", "epoch"]
    readonly_fields = ["id", "seed", "width", "height", "epoch", "created_at"]

    def has_add_permission(self, request):
        return False  # regions begin with a world.created event: use the services


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "region", "brain", "owner", "status"]
    list_filter = ["region", "brain", "status"]
    search_fields = ["id", "name", "owner__username"]
    readonly_fields = ["id", "region", "status", "created_at"]
    fields = ["id", "name", "region", "brain", "owner", "status", "created_at"]

    def has_add_permission(self, request):
        return False  # agents are spawned into the world through the log


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
