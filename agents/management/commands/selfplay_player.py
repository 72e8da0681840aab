from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.auth import issue_player_token
from agents.models import Agent
from agents.services import configure_agent


class Command(BaseCommand):
    help = ("Create or update a player, give it agents, and print a new API token alone on the last line "
            "(tokens are stored hashed, so each run makes a new one; earlier ones stay valid until revoked).")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--agent", action="append", default=[], dest="agents", metavar="ID",
                            help="an agent id this player owns (repeatable)")
        parser.add_argument("--password", help="set the password for the web login")

    @transaction.atomic
    def handle(self, *args, username, agents, password=None, **options):
        user_model = get_user_model()
        username_field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        try:
            # run_validators skips an empty value; the log names a player by it (player:<name>).
            username_field.clean(username, None)
        except Exception as exc:
            raise CommandError(f"invalid username {username!r}: {exc}") from exc
        user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: username})
        if password:
            user.set_password(password)
            user.save()
        elif created:
            user.set_unusable_password()
            user.save()
        missing = sorted(set(agents) - set(Agent.objects.filter(id__in=agents).values_list("id", flat=True)))
        if missing:
            raise CommandError(f"no such agent(s): {', '.join(missing)}")
        for agent_id in sorted(set(agents)):
            configure_agent(agent_id=agent_id, actor="system", owner=user)
        owned = list(Agent.objects.filter(owner=user).values_list("id", flat=True))
        token = issue_player_token(user)
        self.stdout.write(f"{'created' if created else 'updated'} player {username}; "
                          f"owns {', '.join(owned) or 'no agents'}")
        self.stdout.write(token)
