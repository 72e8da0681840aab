from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from agents.api import CommandSubmitApi
from events.api import ProjectionDetailApi

handler404 = "selfplay.api_errors.handler404"
handler500 = "selfplay.api_errors.handler500"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("checkpoints.urls")),
    path("command", CommandSubmitApi.as_view(), name="command"),
    path("projection/<str:name>", ProjectionDetailApi.as_view(), name="projection"),
    path("", include("agents.urls")),
]
