"""System checks: each configured capability plugin imports and starts (`manage.py check`).

A plugin that does not is a warning, never an error: the daemon runs without it and its requests
fail `unavailable`.
"""

from django.conf import settings
from django.core.checks import Warning, register

from . import registry


@register()
def check_capabilities(app_configs, **kwargs):
    problems = []
    for name in sorted(getattr(settings, "SELFPLAY_CAPABILITIES", {}) or {}):
        entry = registry.plugin(name)
        if not entry.available:
            problems.append(Warning(f"capability {name} ({entry.path}) is unavailable: {entry.reason}",
                                    hint="its requests fail `unavailable` until it is fixed (docs/capabilities.md)",
                                    id="agents.W001"))
    for name, cost in (getattr(settings, "SELFPLAY_CAPABILITY_COSTS", {}) or {}).items():
        if type(cost) is not int or cost < 0:
            problems.append(Warning(f"SELFPLAY_CAPABILITY_COSTS[{name!r}] must be a whole number >= 0, not {cost!r}",
                                    id="agents.W002"))
    return problems
