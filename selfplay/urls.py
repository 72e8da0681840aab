from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from agents.api import CommandSubmitApi
from agents.capabilities.api import AgentCapabilitiesApi
from agents.history_api import AgentOutcomesApi, WorldTickApi
from agents.worlds_api import WorldExportApi, WorldImportApi
from events.api import ProjectionDetailApi
from selfplay.web.dashboard import overview_json
from selfplay.web.health_api import WorldHealthApi

handler404 = "selfplay.api_errors.handler404"
handler500 = "selfplay.api_errors.handler500"

urlpatterns = [
    path("admin/selfplay/overview.json", overview_json, name="selfplay-overview"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("checkpoints.urls")),
    path("command", CommandSubmitApi.as_view(), name="command"),
    path("projection/<str:name>", ProjectionDetailApi.as_view(), name="projection"),
    path("worlds/import", WorldImportApi.as_view(), name="world-import"),
    path("worlds/<slug:region_id>/export", WorldExportApi.as_view(), name="world-export"),
    path("worlds/<slug:region_id>/health", WorldHealthApi.as_view(), name="world-health"),
    path("worlds/<slug:region_id>/ticks/<str:tick>", WorldTickApi.as_view(), name="world-tick"),
    path("worlds/<slug:region_id>/agents/<slug:agent_id>/outcomes", AgentOutcomesApi.as_view(),
         name="agent-outcomes"),
    path("worlds/<slug:region_id>/agents/<slug:agent_id>/capabilities", AgentCapabilitiesApi.as_view(),
         name="agent-capabilities"),
    path("", include("selfplay.web.urls")),
]
