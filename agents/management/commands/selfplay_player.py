from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from agents.models import Agent


class Command(BaseCommand):
    help = ("Create or update a player, give it agents, and print its API token alone on the last line.")

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
            username_field.run_validators(username)
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
        if agents:
            Agent.objects.filter(id__in=agents).update(owner=user)
        owned = list(Agent.objects.filter(owner=user).values_list("id", flat=True))
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"{'created' if created else 'updated'} player {username}; "
                          f"owns {', '.join(owned) or 'no agents'}")
        self.stdout.write(token.key)
