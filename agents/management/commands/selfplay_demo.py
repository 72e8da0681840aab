from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from agents.brains.registry import CAPABILITY_BRAINS
from agents.capabilities.services import grant_capabilities
from agents.models import Agent, Region
from agents.services import NewAgent, create_region, spawn_agents
from events.projections import load_state
from selfplay.world.actions import AGENT_ID_RE  # region ids follow the same pattern
from selfplay.world.rules import USE_MIN_RULES_VERSION

SCRIBE_GRANTS = ["hash", "notify", "store"]
DEMO_REGION = "meadow"

NAMES = ["ada", "alan", "barbara", "claude", "dennis", "donald", "edsger", "frances", "grace",
         "guido", "hedy", "ivan", "john", "ken", "leslie", "linus", "margaret", "niklaus",
         "radia", "richard", "shafi", "sophie", "tim", "tony", "vint"]


class Command(BaseCommand):
    help = ("Create the demo world (region meadow with agents of every brain, and --scribes agents that "
            "keep a journal through the hash, store and notify capabilities); idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--region", default=DEMO_REGION,
                            help="agent ids are global: another region's agents are named <region>-ada, …")
        parser.add_argument("--agents", type=int, default=60)
        parser.add_argument("--seed", type=int, default=20261126)
        parser.add_argument("--scribes", type=int, default=0,
                            help="agents scribe-1..N running the scribe brain, granted hash, store and notify")
        parser.add_argument("--starts-in", type=float, default=0.0, metavar="SECONDS",
                            help="a new region's first tick falls due this long plus one interval "
                                 "from now (time for the daemon to start, so none is late)")

    def handle(self, *args, region, agents, seed, starts_in, scribes, **options):
        if not AGENT_ID_RE.fullmatch(region):
            raise CommandError(f"--region must match {AGENT_ID_RE.pattern}, e.g. meadow")
        for name, value in (("--agents", agents), ("--scribes", scribes), ("--starts-in", starts_in)):
            if value < 0:
                raise CommandError(f"{name} must not be negative")
        prefix = "" if region == DEMO_REGION else f"{region}-"
        names = [prefix + name for name in self._names(agents)]
        scribe_ids = [f"{prefix}scribe-{n}" for n in range(1, scribes + 1)]
        too_long = [agent_id for agent_id in names + scribe_ids if not AGENT_ID_RE.fullmatch(agent_id)]
        if too_long:
            raise CommandError(f"agent ids would be invalid ({too_long[0]}): choose a shorter --region")
        other = Agent.objects.filter(id__in=names + scribe_ids).exclude(region_id=region).first()
        if other is not None:
            raise CommandError(f"agent {other.id} already lives in region {other.region_id}")
        with transaction.atomic():  # all of it, or nothing
            self._make(region, names, scribe_ids, seed=seed, starts_in=starts_in)

    @staticmethod
    def _names(count: int) -> list[str]:
        return [NAMES[i % len(NAMES)] if i < len(NAMES) else f"{NAMES[i % len(NAMES)]}-{i // len(NAMES) + 1}"
                for i in range(count)]

    def _make(self, region: str, names: list[str], scribe_ids: list[str], *, seed: int, starts_in: float) -> None:
        from django.conf import settings

        if not Region.objects.filter(id=region).exists():
            create_region(region_id=region, seed=seed, epoch=timezone.now() + timedelta(seconds=starts_in))
            self.stdout.write(f"created region {region}")
        existing = set(Region.objects.get(id=region).agents.values_list("id", flat=True))
        # The capability brains need grants: only the scribes run one.
        brains = sorted(set(settings.SELFPLAY_BRAINS) - set(CAPABILITY_BRAINS))
        def named(agent_id: str) -> str:  # "second-ada-2" is Ada 2 of region second
            return agent_id.removeprefix(f"{region}-").replace("-", " ").title()

        wanted = [NewAgent(id=agent_id, name=named(agent_id), brain=brains[i % len(brains)])
                  for i, agent_id in enumerate(names) if agent_id not in existing]
        rules_version = load_state("world", region)[0]["rulesVersion"] or 1
        if scribe_ids and rules_version < USE_MIN_RULES_VERSION:
            self.stdout.write(f"region {region} plays by rules version {rules_version}, before capabilities: "
                              f"no scribes (a new demo world has them)")
            scribe_ids = []
        new_scribes = [agent_id for agent_id in scribe_ids if agent_id not in existing]
        wanted += [NewAgent(id=agent_id, name=named(agent_id), brain="scribe") for agent_id in new_scribes]
        if wanted:
            spawn_agents(region_id=region, agents=wanted, rng_seed=seed + len(existing))
        for agent_id in new_scribes:
            grant_capabilities(agent_id=agent_id, grants=SCRIBE_GRANTS, actor="system")
        self.stdout.write(f"region {region}: {len(existing) + len(wanted)} agents "
                          f"({len(wanted)} new) across brains {', '.join(brains)}"
                          + (f", and {len(new_scribes)} new scribes" if new_scribes else ""))
