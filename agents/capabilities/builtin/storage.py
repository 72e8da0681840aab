"""`store(blob)`: content-addressed blobs in the database, with a size cap."""

from __future__ import annotations

from django.conf import settings

from ..base import TOO_LARGE, Capability, CapabilityFailed, Request, string_arg
from ..blobs import put_blob


class BlobStore(Capability):
    description = "keeps args.blob (UTF-8) content-addressed; returns its sha256"

    def perform(self, request: Request) -> dict:
        blob = string_arg(request, "blob", max_chars=settings.SELFPLAY_BLOB_MAX_BYTES).encode()
        if len(blob) > settings.SELFPLAY_BLOB_MAX_BYTES:
            raise CapabilityFailed(TOO_LARGE, f"blob of {len(blob)} bytes over the cap")
        # Storing the same bytes twice is the same blob: a retried request changes nothing.
        return {"blobHash": put_blob(blob), "size": len(blob)}
