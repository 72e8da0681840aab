from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from agents.brains.registry import CAPABILITY_BRAINS
from agents.capabilities.services import grant_capabilities
from agents.models import Region
from agents.services import NewAgent, create_region, spawn_agents
from events.projections import load_state
from selfplay.world.rules import USE_MIN_RULES_VERSION

SCRIBE_GRANTS = ["hash", "notify", "store"]

NAMES = ["ada", "alan", "barbara", "claude", "dennis", "donald", "edsger", "frances", "grace",
         "guido", "hedy", "ivan", "john", "ken", "leslie", "linus", "margaret", "niklaus",
         "radia", "richard", "shafi", "sophie", "tim", "tony", "vint"]


class Command(BaseCommand):
    help = ("Create the demo world (region meadow with agents of every brain, and --scribes agents that "
            "keep a journal through the hash, store and notify capabilities); idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--region", default="meadow")
        parser.add_argument("--agents", type=int, default=60)
        parser.add_argument("--seed", type=int, default=20261126)
        parser.add_argument("--scribes", type=int, default=0,
                            help="agents scribe-1..N running the scribe brain, granted hash, store and notify")
        parser.add_argument("--starts-in", type=float, default=0.0, metavar="SECONDS",
                            help="a new region's first tick falls due this long plus one interval "
                                 "from now (time for the daemon to start, so none is late)")

    def handle(self, *args, region, agents, seed, starts_in, scribes, **options):
        from django.conf import settings

        if not Region.objects.filter(id=region).exists():
            create_region(region_id=region, seed=seed, epoch=timezone.now() + timedelta(seconds=starts_in))
            self.stdout.write(f"created region {region}")
        existing = set(Region.objects.get(id=region).agents.values_list("id", flat=True))
        # The capability brains need grants: only --scribes agents run one.
        brains = sorted(set(settings.SELFPLAY_BRAINS) - set(CAPABILITY_BRAINS))
        wanted = []
        for i in range(agents):
            base = NAMES[i % len(NAMES)]
            agent_id = base if i < len(NAMES) else f"{base}-{i // len(NAMES) + 1}"
            if agent_id not in existing:
                brain = brains[i % len(brains)]
                wanted.append(NewAgent(id=agent_id, name=agent_id.replace("-", " ").title(), brain=brain))
        rules_version = load_state("world", region)[0]["rulesVersion"] or 1
        if scribes and rules_version < USE_MIN_RULES_VERSION:
            self.stdout.write(f"region {region} plays by rules version {rules_version}, before capabilities: "
                              f"no scribes (a new demo world has them)")
            scribes = 0
        new_scribes = [f"scribe-{n}" for n in range(1, scribes + 1) if f"scribe-{n}" not in existing]
        wanted += [NewAgent(id=agent_id, name=agent_id.replace("-", " ").title(), brain="scribe")
                   for agent_id in new_scribes]
        if wanted:
            spawn_agents(region_id=region, agents=wanted, rng_seed=seed + len(existing))
        for agent_id in new_scribes:
            grant_capabilities(agent_id=agent_id, grants=SCRIBE_GRANTS, actor="system")
        self.stdout.write(f"region {region}: {len(existing) + len(wanted)} agents "
                          f"({len(wanted)} new) across brains {', '.join(brains)}"
                          + (f", and {len(new_scribes)} new scribes" if new_scribes else ""))
