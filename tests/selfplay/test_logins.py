"""Logins are locked out per username and address after repeated failures (django-axes, in Redis)."""

import uuid

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db


def attempt(client, username, password, address="10.1.2.3"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_failures_lock_that_username_from_that_address_only(client, settings):
    username = f"player-{uuid.uuid4().hex[:8]}"  # the counters live in Redis: a name of this test's own
    User.objects.create_user(username, password="right-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, username, "wrong").status_code == 200  # the form again, with its error
    locked = attempt(client, username, "wrong")
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    # Locked even with the right password, from that address ...
    assert attempt(client, username, "right-password-1").status_code == 429
    # ... while the same user from elsewhere logs in.
    elsewhere = attempt(client, username, "right-password-1", address="10.9.9.9")
    assert elsewhere.status_code == 302 and elsewhere["Location"].endswith("/my/agents/")
