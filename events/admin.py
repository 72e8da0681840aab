"""Read-only admin for the log: nobody adds, changes or deletes events, not even superusers."""

import json

from django.contrib import admin
from django.utils.html import format_html

from .models import Event, Stream


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _pretty(value) -> str:
    return format_html("<pre style='white-space:pre-wrap'>{}</pre>",
                       json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


@admin.register(Stream)
class StreamAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "version", "created_at"]
    list_filter = ["kind"]
    search_fields = ["id"]


class ActorKindFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor_kind"

    def lookups(self, request, model_admin):
        return [("agent", "agents"), ("player", "players"), ("operator", "operators"), ("system", "system")]

    def queryset(self, request, queryset):
        if self.value() == "system":
            return queryset.filter(metadata__actor="system")
        if self.value():
            return queryset.filter(metadata__actor__startswith=f"{self.value()}:")
        return queryset


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The audit log: filter by actor, type, stream kind; `?metadata__tick=17` for one tick,
    `?stream__id__exact=agent:ada` for a stream's timeline; search by stream id or actor."""

    list_display = ["global_position", "stream_id", "position", "type", "actor", "tick", "recorded_at"]
    list_filter = [ActorKindFilter, "stream__kind", "type"]
    search_fields = ["stream__id", "metadata__actor"]
    list_per_page = 50

    def lookup_allowed(self, lookup, value, request=None):
        if lookup in ("metadata__tick", "metadata__actor", "stream__id__exact"):
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="tick")
    def tick(self, obj):
        return obj.metadata.get("tick", "")
    list_select_related = False
    show_full_result_count = False
    fields = ["global_position", "event_id", "stream", "position", "type", "pretty_data",
              "pretty_metadata", "recorded_at", "prev_hash", "hash"]
    readonly_fields = fields

    @admin.display(description="actor")
    def actor(self, obj):
        return obj.metadata.get("actor", "")

    @admin.display(description="data")
    def pretty_data(self, obj):
        return _pretty(obj.data)

    @admin.display(description="metadata")
    def pretty_metadata(self, obj):
        return _pretty(obj.metadata)
