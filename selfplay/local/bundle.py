"""The pure core as one zip for the browser's worker: the very source files the daemon runs.

`CORE` lists what the worker imports (the rules, the brains, an agent's turn, canonical JSON,
the hash chain and this package) and nothing else; `build` zips them from the source tree with
fixed timestamps, so the same sources give the same bytes (and the same ETag).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE = (
    "selfplay/__init__.py", "selfplay/canonical.py", "selfplay/world/", "selfplay/local/",
    "agents/__init__.py", "agents/turns.py", "agents/brains/",
    "events/__init__.py", "events/exceptions.py", "events/hashing.py", "events/types.py",
)
_EPOCH = (2026, 1, 1, 0, 0, 0)


def core_files(root: Path = REPO) -> list[str]:
    """Return the repository-relative paths of the core's Python files, sorted."""
    found = []
    for entry in CORE:
        path = root / entry
        if entry.endswith("/"):
            found += [p.relative_to(root).as_posix() for p in path.rglob("*.py") if "__pycache__" not in p.parts]
        else:
            found.append(entry)
    return sorted(found)


def build(root: Path = REPO) -> bytes:
    """Return the zip of the core's files (unpacked at the root of the worker's Python path)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in core_files(root):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, (root / name).read_bytes())
    return buffer.getvalue()
