from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self):
        from . import schema  # noqa: F401 - registers the OpenAPI auth extension
        from .capabilities import checks  # noqa: F401 - registers the capability system checks
