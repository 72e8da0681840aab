"""Operator console for verification: flags, client sessions, the follower's cursor."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from events.types import STREAM_KINDS
from selfplay.admin_actions import operator_of, with_reason

from .models import ClientSession, Flag, FollowerCursor
from .services import acknowledge_flag, raise_flag, resolve_flag


class NoAddChange(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Flag)
class FlagAdmin(NoAddChange):
    list_display = ["kind", "subject_link", "status", "summary", "raised_at", "acknowledged_by", "resolved_by"]
    list_filter = ["status", "kind"]
    search_fields = ["subject", "=id"]
    readonly_fields = ["id", "kind", "subject", "status", "details", "raised_at", "raised_event_id",
                       "acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at", "note"]
    actions = ["acknowledge", "resolve"]

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.is_staff  # the list and its actions, never an edit form

    @admin.display(description="subject")
    def subject_link(self, obj):
        """The subject's events in the audit log, at the flag's tick when it names one."""
        query = {"stream__id__exact": obj.subject} if obj.subject.partition(":")[0] in STREAM_KINDS \
            else {"q": obj.subject}
        tick = obj.details.get("tick") or obj.details.get("fromTick")
        if isinstance(tick, int):
            query["tick"] = tick
        url = f"{reverse('admin:events_event_changelist')}?{urlencode(query)}"
        return format_html('<a href="{}">{}</a>', url, obj.subject)

    @admin.display(description="details")
    def summary(self, obj):
        return ", ".join(f"{key} {value}" for key, value in sorted(obj.details.items()))[:160]

    @admin.action(description="Acknowledge (with a note)")
    def acknowledge(self, request, queryset):
        def apply(flag, data):
            acknowledge_flag(flag=flag, operator=operator_of(request), note=data["reason"])

        # Only open flags: an acknowledged one was seen already, a resolved one is done.
        return with_reason(self, request, queryset.filter(status=Flag.Status.OPEN),
                           title="Acknowledge flags", apply=apply)

    @admin.action(description="Resolve (with a note)")
    def resolve(self, request, queryset):
        def apply(flag, data):
            resolve_flag(flag=flag, operator=operator_of(request), note=data["reason"])

        return with_reason(self, request, queryset.exclude(status=Flag.Status.RESOLVED),
                           title="Resolve flags", apply=apply)


@admin.register(ClientSession)
class ClientSessionAdmin(NoAddChange):
    list_display = ["id", "suspect", "suspect_reason", "first_seen", "last_seen", "token_count"]
    list_filter = ["suspect"]
    search_fields = ["id"]
    readonly_fields = ["id", "first_seen", "last_seen", "tokens", "suspect", "suspect_reason"]
    actions = ["mark_suspect"]

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.is_staff

    @admin.display(description="tokens used")
    def token_count(self, obj):
        return len(obj.tokens)

    @admin.action(description="Mark suspect (raises a flag)")
    def mark_suspect(self, request, queryset):
        def apply(session, data):
            raise_flag(kind="operator_marked_suspect", subject=f"session:{session.id}",
                       details={"operator": operator_of(request), "reason": data["reason"]})

        return with_reason(self, request, queryset, title="Mark sessions suspect", apply=apply)


@admin.register(FollowerCursor)
class FollowerCursorAdmin(NoAddChange):
    list_display = ["name", "position", "updated_at"]
    exclude = ["state"]
