"""Routes of the web client's pages (the API's routes are in selfplay/urls.py)."""

from django.urls import path

from . import local_pages, pages

app_name = "pages"

urlpatterns = [
    path("", pages.home, name="home"),
    path("world/<slug:region_id>/", pages.world_page, name="world"),
    path("agents/<slug:agent_id>/", pages.agent_page, name="agent"),
    path("local/", local_pages.local_page, name="local"),
    path("local/worker.js", local_pages.local_worker, name="local-worker"),
    path("local/sw.js", local_pages.local_service_worker, name="local-sw"),
    path("local/core.zip", local_pages.local_core, name="local-core"),
    path("my/agents/", pages.my_agents, name="my-agents"),
    path("login/", pages.LoginView.as_view(), name="login"),
    path("logout/", pages.LogoutView.as_view(), name="logout"),
]
