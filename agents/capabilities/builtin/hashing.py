"""`hash(blob)`: the sha256 of a text, as hex."""

from __future__ import annotations

import hashlib

from django.conf import settings

from ..base import Capability, Request, string_arg


class Sha256Hash(Capability):
    description = "sha256 of args.blob (UTF-8), as 64 hex digits"

    def perform(self, request: Request) -> dict:
        blob = string_arg(request, "blob", max_chars=settings.SELFPLAY_BLOB_MAX_BYTES)
        return {"sha256": hashlib.sha256(blob.encode()).hexdigest()}
