"""Routes of the web client's pages (the API's routes are in selfplay/urls.py)."""

from django.urls import path

from . import views

app_name = "pages"

urlpatterns = [
    path("", views.home, name="home"),
    path("world/<slug:region_id>/", views.world_page, name="world"),
    path("agents/<slug:agent_id>/", views.agent_page, name="agent"),
    path("my/agents/", views.my_agents, name="my-agents"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]
