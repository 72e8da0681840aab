"""Receivers of the composition layer."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from events.consumers import session_group

logger = logging.getLogger(__name__)


@receiver(user_logged_out)
def close_sockets_of_the_session(sender, request, user, **kwargs):
    """A logout closes the session's open sockets too (commands are refused there anyway)."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    layer = get_channel_layer()
    if not session_key or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_key), {"type": "stream.close"})
    except Exception:
        logger.warning("could not tell this session's sockets to close", exc_info=True)
