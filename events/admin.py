"""Read-only admin for the log: nobody adds, changes or deletes events, not even superusers."""

import json

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
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
            return queryset.filter(actor="system")
        if self.value():
            return queryset.filter(actor__startswith=f"{self.value()}:")
        return queryset


class TickFilter(admin.SimpleListFilter):
    """`?tick=79`: the events of one tick (any tick may be typed into the URL; the newest are listed)."""

    title = "tick"
    parameter_name = "tick"

    def lookups(self, request, model_admin):
        latest = (Event.objects.filter(type="world.tick.completed").order_by("-global_position")
                  .values_list("tick", flat=True)[:10])
        return [(str(tick), str(tick)) for tick in latest if tick is not None]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        try:
            tick = int(self.value())
        except ValueError:
            raise IncorrectLookupParameters(f"tick must be a whole number, not {self.value()!r}") from None
        return queryset.filter(tick=tick)


class TypeFilter(admin.SimpleListFilter):
    """`?type=agent.spawned`: any type may be typed into the URL; the types of the newest events
    are listed (every distinct type of a long log would be a scan of all of it)."""

    title = "type"
    parameter_name = "type"
    RECENT = 2000

    def lookups(self, request, model_admin):
        recent = Event.objects.order_by("-global_position").values_list("type", flat=True)[:self.RECENT]
        return [(type_, type_) for type_ in sorted(set(recent))]

    def queryset(self, request, queryset):
        return queryset if self.value() is None else queryset.filter(type=self.value())


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    """The audit log, newest first: filter by actor, type, stream kind and tick (`?tick=17`),
    `?stream__id__exact=agent:ada` for a stream's timeline; search by stream id or actor."""

    list_display = ["global_position", "stream_id", "position", "type", "actor", "tick", "recorded_at"]
    list_filter = [ActorKindFilter, TickFilter, "stream__kind", TypeFilter]
    search_fields = ["stream__id", "actor"]
    list_per_page = 50
    ordering = ["-global_position"]

    def lookup_allowed(self, lookup, value, request=None):
        if lookup in ("actor", "stream__id__exact"):
            return True
        # Any lookup into the JSON columns (`data__contains=…`) is refused (400): SQLite stores
        # them compact (events.compact), and scanning every event's JSON is no page for a browser.
        if lookup.partition("__")[0] in ("data", "metadata"):
            return False
        return super().lookup_allowed(lookup, value, request)

    list_select_related = False
    show_full_result_count = False
    fields = ["global_position", "event_id", "stream", "position", "type", "pretty_data",
              "pretty_metadata", "recorded_at", "prev_hash", "hash"]
    readonly_fields = fields

    @admin.display(description="data")
    def pretty_data(self, obj):
        return _pretty(obj.data)

    @admin.display(description="metadata")
    def pretty_metadata(self, obj):
        return _pretty(obj.metadata)
