"""A region's log as a file that `/local/` opens: the way back from the daemon to a tab.

The file holds the region's world stream and its agents' streams in global order, in the
format of `selfplay.local.logfile` (the one `POST /worlds/import` takes), so a region exported
here can be opened, ticked on in a browser and, under new ids elsewhere, imported again.
"""

from __future__ import annotations

from django.conf import settings

from events.models import Stream
from events.store import one_snapshot, read_stream
from selfplay.local import logfile

from .imports import TransferRefused
from .models import Agent, Region

_READ_PAGE = 5000


def region_streams(region: Region) -> list[str]:
    """Return the streams of a region's log: its world stream, then its agents' streams."""
    agents = Agent.objects.filter(region=region).order_by("id").values_list("id", flat=True)
    return [region.stream_id, *(f"agent:{agent_id}" for agent_id in agents)]


def export_events(region: Region, *, limit: int | None = None) -> list[dict]:
    """Return a region's log as wire events in global order.

    Refuse a region of more than `limit` events (default SELFPLAY_IMPORT_MAX_EVENTS): a file
    that nobody can import or open is not worth building.
    """
    limit = settings.SELFPLAY_IMPORT_MAX_EVENTS if limit is None else limit
    streams = region_streams(region)
    # One snapshot for every stream: read one by one while the world ticks, an agent's stream
    # could hold the decisions of a tick its world stream, read earlier, does not.
    with one_snapshot():
        size = sum(Stream.objects.filter(id__in=streams).values_list("version", flat=True))
        if size > limit:
            raise TransferRefused("invalid", f"Region {region.id} holds {size} events; at most {limit} are exported.",
                                  {"reason": "too_large", "events": size, "limit": limit})
        events = []
        for stream_id in streams:
            after = 0
            while page := read_stream(stream_id, after=after, limit=_READ_PAGE):
                events.extend(e.to_wire() for e in page)
                after = page[-1].position
    events.sort(key=lambda e: e["globalPosition"])
    return events


def export_log(region: Region, *, limit: int | None = None) -> bytes:
    """Return a region's log file."""
    return logfile.dumps(region.id, export_events(region, limit=limit)).encode("utf-8")
