"""OpenAPI description of the agent-key authentication (loaded in AgentsConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AgentKeyScheme(OpenApiAuthenticationExtension):
    target_class = "agents.auth.AgentKeyAuthentication"
    name = "agentKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`AgentKey <key>`: an external agent submitting its own decisions."}


class PlayerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "agents.auth.PlayerTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>`: a player's API token (manage.py selfplay_player prints it)."}
