from django.core.management.base import BaseCommand, CommandError

from agents.auth import KEY_KEYWORD, issue_key
from agents.models import Agent


class Command(BaseCommand):
    help = ("Issue a new API key for an agent, for an external program that plays it (POST /command "
            "with kind \"decision\"); print the key alone on the last line. Keys are stored hashed, so "
            "each run makes a new one; earlier ones stay valid until revoked in the admin.")

    def add_arguments(self, parser):
        parser.add_argument("agent_id")

    def handle(self, *args, agent_id, **options):
        agent = Agent.objects.filter(id=agent_id).first()
        if agent is None:
            raise CommandError(f"no such agent: {agent_id}")
        key = issue_key(agent)
        self.stdout.write(f"a new key for agent {agent.id} in region {agent.region_id}; send it as "
                          f"`Authorization: {KEY_KEYWORD} <key>`; it is not shown again")
        self.stdout.write(key)
