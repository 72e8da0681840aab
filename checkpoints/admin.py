"""Read-only admin of checkpoints: operators audit them; only the services write them."""

from django.contrib import admin

from .models import Checkpoint


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["stream_id", "position", "global_position", "storage", "checksum", "created_at"]
    list_filter = ["storage"]
    search_fields = ["stream_id", "=id", "=checksum"]
    exclude = ["state"]  # a world state runs to megabytes
    readonly_fields = ["id", "stream_id", "position", "global_position", "checksum", "storage", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # retention prunes; a row deleted here would leave its state behind in Redis
