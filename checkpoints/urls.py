"""Routes of the checkpoint endpoints (DESIGN §5), without trailing slashes."""

from django.urls import path

from .api import CheckpointAtApi, CheckpointLatestApi, CheckpointSyncApi

urlpatterns = [
    path("checkpoint/latest", CheckpointLatestApi.as_view(), name="checkpoint-latest"),
    path("checkpoint/at", CheckpointAtApi.as_view(), name="checkpoint-at"),
    path("sync", CheckpointSyncApi.as_view(), name="sync"),
]
