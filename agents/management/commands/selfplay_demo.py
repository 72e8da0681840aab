from django.core.management.base import BaseCommand
from django.utils import timezone

from agents.models import Region
from agents.services import NewAgent, create_region, spawn_agents

NAMES = ["ada", "alan", "barbara", "claude", "dennis", "donald", "edsger", "frances", "grace",
         "guido", "hedy", "ivan", "john", "ken", "leslie", "linus", "margaret", "niklaus",
         "radia", "richard", "shafi", "sophie", "tim", "tony", "vint"]


class Command(BaseCommand):
    help = "Create the demo world (region meadow with agents of every brain); idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--region", default="meadow")
        parser.add_argument("--agents", type=int, default=60)
        parser.add_argument("--seed", type=int, default=20261126)

    def handle(self, *args, region, agents, seed, **options):
        from django.conf import settings

        if not Region.objects.filter(id=region).exists():
            create_region(region_id=region, seed=seed, epoch=timezone.now())
            self.stdout.write(f"created region {region}")
        existing = set(Region.objects.get(id=region).agents.values_list("id", flat=True))
        brains = sorted(settings.SELFPLAY_BRAINS)
        wanted = []
        for i in range(agents):
            base = NAMES[i % len(NAMES)]
            agent_id = base if i < len(NAMES) else f"{base}-{i // len(NAMES) + 1}"
            if agent_id not in existing:
                brain = brains[i % len(brains)]
                wanted.append(NewAgent(id=agent_id, name=agent_id.replace("-", " ").title(), brain=brain))
        if wanted:
            spawn_agents(region_id=region, agents=wanted, rng_seed=seed + len(existing))
        self.stdout.write(f"region {region}: {len(existing) + len(wanted)} agents "
                          f"({len(wanted)} new) across brains {', '.join(brains)}")
