"""Read-only admin of checkpoints: operators audit and verify them; only the services write them."""

from django.contrib import admin, messages

from .exceptions import CheckpointError
from .models import Checkpoint
from .selectors import checkpoint_state


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["stream_id", "position", "global_position", "storage", "checksum", "created_at"]
    list_filter = ["storage"]
    search_fields = ["stream_id", "=id", "=checksum"]
    exclude = ["state"]  # a world state runs to megabytes
    readonly_fields = ["id", "stream_id", "position", "global_position", "checksum", "storage", "created_at"]
    actions = ["verify"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.is_staff  # the list and its actions, never an edit form

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Verify the stored state against its checksum")
    def verify(self, request, queryset):
        intact = 0
        for checkpoint in queryset:
            try:
                checkpoint_state(checkpoint)
            except CheckpointError as exc:
                messages.error(request, f"{checkpoint.stream_id}@{checkpoint.position}: {exc.message}")
            else:
                intact += 1
        messages.success(request, f"{intact} of {queryset.count()} checkpoint(s) intact.")
