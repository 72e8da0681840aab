"""The compact stored form of an event row, which SQLite's backend writes (events.backends).

An event's id, hashes, data and metadata travel as text (DESIGN §2) and are hashed as text; the
row need not hold that text. In the compact form:

- the id is its 16 bytes, each hash its 32 bytes (an empty previous hash, at position 1, is b"");
- data and metadata are their canonical JSON text, compressed by zstd with a dictionary shipped
  in `events/dictionaries/` (an event's JSON is ~110 bytes, too short for a compressor to find
  its repetitions within itself; the dictionary holds the keys and values events share). The
  first byte names the form: 0 the UTF-8 text itself (when compression would not make it
  shorter), 1 a zstd frame (without magic number, checksum or dictionary id) of dictionary 1.
  A dictionary, once shipped, is never changed: a new one takes the next number.

Decompressing gives back the exact text that was hashed, so `verify_chain` still hashes what it
reads. Readers take either form: a value that is already text (PostgreSQL's columns, or a row
written before the compact form) passes through unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

import zstandard

DICTIONARY_DIR = Path(__file__).with_name("dictionaries")
_TEXT, _ZSTD_DICT1 = 0, 1
_LEVEL = 3  # higher levels gain a byte or two on these short texts at three to twenty times the cost


@cache
def _dictionary(number: int) -> zstandard.ZstdCompressionDict:
    data = (DICTIONARY_DIR / f"events-{number}.zdict").read_bytes()
    dictionary = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
    dictionary.precompute_compress(level=_LEVEL)
    return dictionary


class _Codecs(threading.local):
    """zstd's compressor and decompressor objects may not be used by two threads at once.
    Made on first use: a process that never reads a compact row never loads the dictionary."""

    compress = decompress = None

    def make(self) -> _Codecs:
        params = zstandard.ZstdCompressionParameters.from_level(
            _LEVEL, format=zstandard.FORMAT_ZSTD1_MAGICLESS, write_checksum=False, write_content_size=True,
            write_dict_id=False)
        self.compress = zstandard.ZstdCompressor(dict_data=_dictionary(1), compression_params=params).compress
        self.decompress = zstandard.ZstdDecompressor(
            dict_data=_dictionary(1), format=zstandard.FORMAT_ZSTD1_MAGICLESS).decompress
        return self


_codecs = _Codecs()


def _thread_codecs() -> _Codecs:
    return _codecs if _codecs.compress is not None else _codecs.make()


def pack_rows(rows: list) -> list[tuple]:
    """Return event rows (global position, id, stream id, position, type, data, metadata,
    recorded at, previous hash, hash, actor, tick; texts all) in the compact form.

    Each data and metadata text is stored in form 1 when that is shorter, else in form 0. One
    loop, without a call per value but zstd's own: an append of a thousand agents' tick packs
    two thousand rows."""
    compress, fromhex = _thread_codecs().compress, bytes.fromhex
    packed = []
    for global_position, event_id, stream_id, position, type_, data, metadata, recorded_at, prev_hash, hash_, \
            actor, tick in rows:
        data, metadata = data.encode(), metadata.encode()
        small_data, small_metadata = compress(data), compress(metadata)
        packed.append((
            global_position, fromhex(event_id.replace("-", "")), stream_id, position, type_,
            b"\x01" + small_data if len(small_data) < len(data) else b"\x00" + data,
            b"\x01" + small_metadata if len(small_metadata) < len(metadata) else b"\x00" + metadata,
            recorded_at, fromhex(prev_hash), fromhex(hash_), actor, tick))
    return packed


def json_reader() -> Callable[[object], object]:
    """Return a function from a stored data or metadata value to its JSON as UTF-8 bytes (text
    passes through), for this thread: readers of many rows take it once, and orjson reads bytes."""
    decompress = _thread_codecs().decompress

    def read(value):
        if type(value) is not bytes:
            return value
        form = value[0]
        if form == _ZSTD_DICT1:
            return decompress(value[1:])
        if form == _TEXT:
            return value[1:]
        raise ValueError(f"stored JSON in an unknown form ({form}): written by a newer Selfplay?")

    return read


def loop_reader() -> tuple[int, Callable[[bytes], bytes], Callable[[object], object]]:
    """Return (form, decompress, read) for a loop over many values, which reads each one as
    `decompress(value[1:]) if value[0] == form else read(value)`: json_reader's function without
    a call of its own for the common form (a page of a thousand events reads two thousand)."""
    return _ZSTD_DICT1, _thread_codecs().decompress, json_reader()


def unpack_json(value):
    """Return the JSON text of a stored data or metadata value (text passes through)."""
    value = json_reader()(value)
    return value.decode() if type(value) is bytes else value


def pack_id(event_id: str) -> bytes:
    """Return the 16 bytes of a canonical (lowercase, hyphenated) UUID text."""
    return bytes.fromhex(event_id.replace("-", ""))


def unpack_id(value) -> str:
    """Return the canonical text of a stored event id (text passes through)."""
    if type(value) is not bytes:
        return value
    h = value.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def unpack_hash(value) -> str:
    """Return the hex text of a stored hash (text passes through)."""
    return value.hex() if type(value) is bytes else value
