"""The per-stream hash chain of DESIGN §2."""

from __future__ import annotations

import json
import re
from hashlib import sha256 as _sha256
from typing import Any

from selfplay.canonical import canonical_json, sha256_hex

_dump_str = json.JSONEncoder(ensure_ascii=False).encode
_PLAIN = re.compile(r"[A-Za-z0-9:.\-_]*\Z")  # characters JSON never escapes


def envelope_json(
    *, event_id: str, stream_id: str, position: int, type: str, data_json: str, metadata_json: str,
) -> str:
    """Return canonical_json({id, streamId, position, type, data, metadata}).

    Built by concatenation from already-canonical data and metadata texts, which gives the
    same bytes as serialising the whole envelope (keys in sorted order) at a fraction of the cost.
    """
    return (f'{{"data":{data_json},"id":{_quoted(event_id)},"metadata":{metadata_json},"position":{position},'
            f'"streamId":{_quoted(stream_id)},"type":{_quoted(type)}}}')


def plain_event_hash(
    prev_hash: str, event_id: str, stream_id: str, position: int, type: str, data_json: str, metadata_json: str,
) -> str:
    """Return chain_hash(prev_hash, envelope_json(...)) of an event whose id, stream id and type
    the caller has checked against patterns JSON never escapes (a UUID, and the patterns of
    events.types): they are quoted as they are. One step, for the append's loop."""
    return _sha256(f'{prev_hash}\n{{"data":{data_json},"id":"{event_id}","metadata":{metadata_json},'
                   f'"position":{position},"streamId":"{stream_id}","type":"{type}"}}'.encode()).hexdigest()


def _quoted(text: str) -> str:
    if _PLAIN.match(text):
        return '"' + text + '"'
    return _dump_str(text)


def chain_hash(prev_hash: str, envelope: str) -> str:
    """Return sha256(prevHash + "\\n" + envelope)."""
    return sha256_hex(prev_hash + "\n" + envelope)


def event_hash(
    *, prev_hash: str, event_id: str, stream_id: str, position: int, type: str,
    data: Any, metadata: Any,
) -> str:
    """Return the hash of an event from its decoded values (used to verify chains)."""
    return chain_hash(
        prev_hash,
        envelope_json(
            event_id=event_id, stream_id=stream_id, position=position, type=type,
            data_json=canonical_json(data), metadata_json=canonical_json(metadata),
        ),
    )
