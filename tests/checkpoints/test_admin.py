"""Operators see checkpoints in the admin and cannot change them there."""

import pytest

from checkpoints.models import Checkpoint
from events.store import ANY, record

from .helpers import noted

pytestmark = pytest.mark.django_db


def test_checkpoints_are_listed_read_only(admin_client):
    record([("agent:ada", noted(2), ANY)])
    checkpoint = Checkpoint.objects.get(stream_id="agent:ada")
    listing = admin_client.get("/admin/checkpoints/checkpoint/")
    assert listing.status_code == 200
    assert "agent:ada" in listing.content.decode()
    detail = admin_client.get(f"/admin/checkpoints/checkpoint/{checkpoint.pk}/change/")
    assert detail.status_code == 200
    assert checkpoint.checksum in detail.content.decode()
    assert admin_client.get("/admin/checkpoints/checkpoint/add/").status_code == 403
    admin_client.post(f"/admin/checkpoints/checkpoint/{checkpoint.pk}/change/", {"position": 99})
    assert Checkpoint.objects.get(pk=checkpoint.pk).position == 2
    admin_client.post(f"/admin/checkpoints/checkpoint/{checkpoint.pk}/delete/", {"post": "yes"})
    assert Checkpoint.objects.filter(pk=checkpoint.pk).exists()
