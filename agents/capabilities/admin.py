"""Operators' view of capabilities: the installed plugins with their status, and the inbox of
notifications agents sent. Grants are edited on the agent (agents.admin.AgentForm)."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path

from ..models import Notification
from . import registry


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The admin inbox: what agents sent with `notify`, newest first; read-only (it is a record)."""

    list_display = ["created_at", "agent", "message", "request_id"]
    list_filter = ["agent__region"]
    search_fields = ["agent__id", "message", "request_id"]
    change_list_template = "admin/agents/notification/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.capabilities_view)
        return [path("capabilities/", view, name="agents_capabilities"), *super().get_urls()]

    def capabilities_view(self, request):
        """List every capability: its plugin's dotted path, status (with the reason) and cost."""
        context = {**self.admin_site.each_context(request), "title": "Installed capabilities",
                   "capabilities": registry.statuses(), "opts": self.model._meta}
        return TemplateResponse(request, "admin/agents/capabilities.html", context)
