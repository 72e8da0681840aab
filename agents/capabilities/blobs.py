"""Content-addressed blobs: the `store` capability's bytes and results too large to record inline."""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction

from ..models import Blob


def put_blob(data: bytes) -> str:
    """Keep `data` (once, whoever asks again); return its sha256 hex."""
    digest = hashlib.sha256(data).hexdigest()
    if not Blob.objects.filter(digest=digest).exists():
        try:
            with transaction.atomic():
                Blob.objects.create(digest=digest, data=data, size=len(data))
        except IntegrityError:
            pass  # stored by a concurrent request meanwhile: the same bytes
    return digest


def get_blob(digest: str) -> bytes | None:
    """Return the bytes of a blob, or None."""
    row = Blob.objects.filter(digest=digest).values_list("data", flat=True).first()
    return bytes(row) if row is not None else None
