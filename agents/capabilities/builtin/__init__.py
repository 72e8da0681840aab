"""The built-in capability plugins; SELFPLAY_CAPABILITIES installs them by dotted path."""

from .authenticated import ReadAuthenticated
from .hashing import Sha256Hash
from .notify import Notify
from .public import ReadPublic
from .storage import BlobStore
from .webhook import SignedWebhookPost

__all__ = ["BlobStore", "Notify", "ReadAuthenticated", "ReadPublic", "Sha256Hash", "SignedWebhookPost"]
