"""Canonical JSON and checksums shared by the event store, projections and the game.

Imports nothing from Django so the pure game logic can use it too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

try:
    import orjson
except ImportError:  # the browser-only variant's Pyodide loads only the packages it asks for
    orjson = None

_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _not_serialisable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder, built once: JSONEncoder.encode builds a new one (and a circular-reference
# table) on every call, which is most of the cost for the small dicts events carry. A circular
# value then fails with RecursionError instead of ValueError.
_c_encode = (
    json.encoder.c_make_encoder(None, _not_serialisable, json.encoder.encode_basestring, None,
                                ":", ",", True, False, False)
    if json.encoder.c_make_encoder is not None else None
)


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of a value: sorted keys, no spaces, UTF-8, no NaN."""
    if _c_encode is None or isinstance(value, str | int | float | bool) or value is None:
        return _encoder.encode(value)
    return "".join(_c_encode(value, 0))


# Integers must fit in 64 bits (signed), as they do in every JSON reader that keeps integers
# exact: the event store's reader (orjson) would otherwise read them back as floats.
INT_RANGE = range(-(2**63), 2**63)
# Every digit becomes "0", so a run of 19 digits is a run of 19 zeros: a substring search, a
# third of the cost of a regex over the same text.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
# The same, with "E" as "e": the float check below then makes two searches, not three.
_DIGITS_TO_ZERO_E_TO_LOWER = bytes.maketrans(b"123456789E", b"000000000e")
_NINETEEN_DIGITS = b"0" * 19


def storable(value: Any, text: str | None = None) -> bool:
    """Whether a JSON value can be stored: its text is UTF-8 (no unpaired surrogate), holds no
    NUL, and its integers fit in 64 bits.

    PostgreSQL's jsonb refuses NUL; both backends refuse the same values. Pass the value's
    canonical text when it is at hand: the common case then costs a few scans of it.
    """
    text = canonical_json(value) if text is None else text
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    if _NINETEEN_DIGITS in encoded.translate(_DIGITS_TO_ZERO) and _holds_wide_int(value):
        return False
    # NUL is written as the escape \u0000; a literal backslash before "u0000" looks alike.
    return "\\u0000" not in text or not _holds_nul(value)


# Numbers PostgreSQL's jsonb does not read back as written: it keeps numbers as decimals, so
# -0.0 comes back as 0.0 and an integral float from 1e16 up (written with an exponent) as an
# integer, which a JSON reader then takes for an int. Up to 2**64 that int is exact; beyond it
# the reader falls back to a float again.
_PORTABLE_INT_LIMIT = 2**64


def portable(value: Any, text: str) -> tuple[Any, str]:
    """Return (value, text) with every number written as PostgreSQL gives it back: -0.0 as 0.0,
    integral floats from 1e16 to 2**64 as integers. Both backends then store, hash and read the
    same value, and a log moved from one to the other keeps its chain.

    `text` is the value's canonical JSON; the common case is two substring scans of it.
    """
    if "-0.0" not in text and "e+1" not in text:
        return value, text
    normalised = _portable(value)
    return normalised, canonical_json(normalised)


def _portable(value: Any) -> Any:
    if isinstance(value, float):
        if value == 0.0:
            return 0.0
        if value.is_integer() and 1e16 <= abs(value) < _PORTABLE_INT_LIMIT:
            return int(value)
        return value
    if isinstance(value, dict):
        return {key: _portable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_portable(item) for item in value]
    return value


def _holds_wide_int(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value not in INT_RANGE
    if isinstance(value, dict):
        return any(_holds_wide_int(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_wide_int(item) for item in value)
    return False


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


def sha256_hex(text: str) -> str:
    """Return the lowercase hex SHA-256 of a text encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# The last few values checksummed, by identity (each entry holds its value, so an id is never
# reused while it is here). A tick checksums the new world state, then stores its text and a
# checkpoint may snapshot it: one encoding serves all three. States are values — reducers build
# new ones and never change a state once returned — so a remembered text cannot go stale.
_RECENT_LIMIT = 16
_REMEMBER_FROM = 4096  # characters of text
_recent: dict[int, tuple[Any, str, str]] = {}


# orjson writes JSON's own types as canonical_json does (sorted keys, no spaces, UTF-8, the same
# escapes, shortest float digits) except some floats: exponents (1e16 as "1e16", not "1e+16") and
# floats below 1e-4 (positional "0.00005", not "5e-05"). Any text that could hold one of those
# (a digit before "e", or ".0000") is encoded again by the standard encoder, as is any value
# orjson refuses (a non-string key, an integer beyond 64 bits, an unpaired surrogate) or would
# take where the standard encoder refuses (a subclass, a date, a dataclass).
_FAST_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
                 | orjson.OPT_PASSTHROUGH_DATACLASS) if orjson is not None else 0


def _orjson_text(value: Any) -> str | None:
    """Return orjson's text of a value when it is canonical_json's to the byte (but for NaN and
    infinity, written as null), else None."""
    if orjson is None:
        return None
    try:
        encoded = orjson.dumps(value, default=_not_serialisable, option=_FAST_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    # Every digit becomes "0", then substring searches of a str: a fraction of the cost of a
    # regex over the same text, and several times faster than searches of bytes.
    zeroed = encoded.translate(_DIGITS_TO_ZERO_E_TO_LOWER).decode()
    if ".0000" in zeroed or "0e" in zeroed:
        return None
    return encoded.decode()


def json_values_text(value: Any) -> str:
    """Return canonical_json(value) of a value made of JSON's types (a projection state, decoded
    events, the game's outcomes), at a fraction of the cost for big ones.

    States are folds of stored events, so they hold JSON's types only. One difference remains
    by design: orjson writes a NaN or an infinity as null where canonical_json refuses it, and
    no stored JSON can hold either, so only a fold that computed one would see it.
    """
    text = _orjson_text(value)
    return canonical_json(value) if text is None else text


def strict_json_text(value: Any) -> str:
    """Return canonical_json(value), refusing what it refuses, for values that come from callers
    (event data and metadata). orjson writes a NaN or an infinity as null where canonical_json
    raises ValueError, so a text with a null is orjson's only when the value holds neither."""
    text = _orjson_text(value)
    if text is None or ("null" in text and _holds_non_finite(value)):
        return canonical_json(value)
    return text


_INT64_LOW, _INT64_HIGH = -(2**63), 2**63 - 1


def plain_json_text(value: Any) -> str | None:
    """Return canonical_json(value) of a plain value, else None: plain is JSON's own types (exact)
    with no float, no integer beyond 64 bits and no NUL, as most event data and metadata are.

    Without a float, orjson's text is canonical_json's to the byte, so no scan of the text is
    needed, and the value is storable and portable as it is (see storable, portable): one walk
    and one orjson call instead of the checks that strict_json_text, portable and storable make.
    """
    try:
        if orjson is None or not _plain(value):
            return None
        text = orjson.dumps(value, default=_not_serialisable, option=_FAST_OPTIONS).decode()
    except (TypeError, RecursionError):  # a non-string key, a subclass (handed to `default`), an
        return None  # unpaired surrogate; a value nested too deep (or holding itself) for the walk
    return None if "\\u0000" in text else text  # NUL is written as that escape


def _plain(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        items = value.values()
    elif kind is list or kind is tuple:
        items = value
    elif kind is int:
        return _INT64_LOW <= value <= _INT64_HIGH
    else:  # anything but JSON's own types (a subclass, an enum, a date) is not plain
        return kind is str or kind is bool or value is None
    for item in items:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if not _INT64_LOW <= item <= _INT64_HIGH:
                return False
        elif kind is float or not _plain(item):
            return False
    return True


def _holds_non_finite(value: Any) -> bool:
    # Exact types: orjson handed anything else (a subclass) to the standard encoder already.
    kind = type(value)
    if kind is float:
        return value - value != 0.0  # NaN - NaN and inf - inf are NaN
    if kind is dict:
        value = value.values()
    elif kind is not list and kind is not tuple:
        return False
    for item in value:
        if _holds_non_finite(item):
            return True
    return False


def canonical_text(value: Any) -> tuple[str, str]:
    """Return (canonical_json(value), its sha256) of a projection state, reusing a recent encoding
    of this very value (see json_values_text)."""
    hit = _recent.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1], hit[2]
    text = json_values_text(value)
    digest = sha256_hex(text)
    # Only big texts are remembered: encoding a small state again costs less than remembering
    # it, and a tick encodes a thousand small ones (one per agent) beside the few big ones.
    if len(text) >= _REMEMBER_FROM and isinstance(value, dict | list):
        if len(_recent) >= _RECENT_LIMIT:
            _recent.pop(next(iter(_recent)))
        _recent[id(value)] = (value, text, digest)
    return text, digest


class CanonicalJSONEncoder(json.JSONEncoder):
    """A JSONField encoder that stores a state as its canonical text (sorted keys, no spaces).

    A checkpoint stores the very state it has just checksummed, so the text comes from
    canonical_text's recent encodings instead of a second encoding of the world (170 KB at 1,000 agents).
    """

    def encode(self, o: Any) -> str:
        return canonical_text(o)[0]


def checksum(state: Any) -> str:
    """Return sha256(canonical_json(state)), the checksum of a projection's state."""
    return canonical_text(state)[1]
