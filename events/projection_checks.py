"""Compare live projections with a rebuild from zero."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from selfplay.canonical import checksum

from .models import Projection
from .projections import lock_writers, rebuild_in_memory
from .selectors import head_global_position


@dataclass(frozen=True)
class Mismatch:
    name: str
    key: str
    live: str | None
    rebuilt: str | None

    def __str__(self) -> str:
        return f"{self.name}[{self.key}]: live {self.live or 'missing'}, rebuilt {self.rebuilt or 'missing'}"


def live_snapshot(names: list[str]) -> tuple[dict[tuple[str, str], str], int]:
    """Return live checksums and the head they reflect, read consistently under the write lock."""
    with transaction.atomic():
        lock_writers()
        head = head_global_position()
        rows = Projection.objects.filter(name__in=names).values_list("name", "key", "checksum")
        return {(n, k): c for n, k, c in rows}, head


def compare(live: dict[tuple[str, str], str], rebuilt) -> list[Mismatch]:
    """Return where live checksums and a rebuild's states disagree (a key missing on one side too)."""
    fresh = {key: checksum(state) for key, state in rebuilt.states.items()}
    return [
        Mismatch(name, key, live.get((name, key)), fresh.get((name, key)))
        for name, key in sorted(live.keys() | fresh.keys())
        if live.get((name, key)) != fresh.get((name, key))
    ]


def compare_with_rebuild(names: list[str], *, progress: Callable[[int], None] | None = None):
    """Return (mismatches, rebuilt) between the live rows and a rebuild up to the same head."""
    live, head = live_snapshot(names)
    rebuilt = rebuild_in_memory(names=names, until=head, progress=progress)
    return compare(live, rebuilt), rebuilt
