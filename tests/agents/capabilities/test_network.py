"""read_public, read_authenticated and post against a loopback server: allowlists, caps,
timeouts, signatures, idempotency keys, and credentials that never reach the log."""

import hashlib
import hmac
import json
import logging

import pytest

from agents.capabilities import registry, services
from agents.capabilities.base import CapabilityFailed, Request
from agents.capabilities.builtin import ReadAuthenticated, ReadPublic, SignedWebhookPost

from .helpers import capability_events, record_request
from .loopback import loopback, redirect, slow, text

pytestmark = pytest.mark.django_db


def request(capability: str, **args) -> Request:
    return Request("0e4b7c4a-52d4-4b8e-9d65-7d0c6b1a00ca", "ada", "hall", capability, args)


def failure_code(plugin, req) -> str:
    with pytest.raises(CapabilityFailed) as caught:
        plugin.perform(req)
    return caught.value.code


@pytest.fixture
def public(settings):
    with loopback({"/page": text("hello world", content_type="text/plain; charset=utf-8"),
                   "/big": text("x" * 200), "/slow": slow(2.0)}) as server:
        settings.SELFPLAY_READ_PUBLIC_HOSTS = [f"127.0.0.1:{server.port}"]
        settings.SELFPLAY_READ_MAX_BYTES = 100
        settings.SELFPLAY_CAPABILITY_HTTP_TIMEOUT_SECONDS = 0.3
        yield server


def test_read_public_reads_an_allowlisted_page(public):
    assert ReadPublic("read_public").perform(request("read_public", url=public.url("/page"))) == {
        "status": 200, "contentType": "text/plain; charset=utf-8", "text": "hello world"}


def test_read_public_refuses_hosts_off_the_allowlist_and_redirects_off_it(public, settings):
    with loopback({"/to-elsewhere": redirect("http://localhost:1/secret"),
                   "/to-page": redirect(public.url("/page"))}) as other:
        plugin = ReadPublic("read_public")
        assert failure_code(plugin, request("read_public", url=other.url("/to-page"))) == "refused"
        assert other.seen == []  # nothing was sent to a host off the allowlist
        public_redirects = {"/to-elsewhere": redirect("http://localhost:1/secret")}
    with loopback(public_redirects) as same_host:
        settings.SELFPLAY_READ_PUBLIC_HOSTS = [f"127.0.0.1:{same_host.port}"]
        assert failure_code(plugin, request("read_public", url=same_host.url("/to-elsewhere"))) == "refused"
        assert [s.path for s in same_host.seen] == ["/to-elsewhere"]
    assert failure_code(plugin, request("read_public", url="file:///etc/passwd")) == "refused"


def test_read_public_caps_bytes_and_time(public):
    plugin = ReadPublic("read_public")
    assert failure_code(plugin, request("read_public", url=public.url("/big"))) == "too_large"
    assert failure_code(plugin, request("read_public", url=public.url("/slow"))) == "timeout"
    assert failure_code(plugin, request("read_public")) == "invalid"


def test_read_public_without_an_allowlist_is_unavailable(settings):
    settings.SELFPLAY_READ_PUBLIC_HOSTS = []
    entry = registry.plugin("read_public")
    assert (entry.status, entry.reason) == (
        "unavailable", "RuntimeError: SELFPLAY_READ_PUBLIC_HOSTS is empty: no host may be read")


SECRET = "tok-4f1d9c2e7b"  # noqa: S105 - a test credential


def test_read_authenticated_sends_the_credential_and_never_records_or_logs_it(
        hall, settings, monkeypatch, caplog):
    """The credential is read from the environment per service and scope, sent only in the
    Authorization header, and appears in no event and no log line, even when echoed back."""
    caplog.set_level(logging.DEBUG)
    def echo(seen):
        ok = seen.headers.get("Authorization") == f"Bearer {SECRET}"
        return (200 if ok else 401), {}, f"profile for {seen.headers.get('Authorization')}".encode()
    with loopback({"/profile": echo, "/broken": lambda seen: (500, {}, SECRET.encode())}) as server:
        settings.SELFPLAY_AUTH_SERVICES = {"club": {"url": server.url("/{scope}"), "scopes": ["profile", "broken"]}}
        settings.SELFPLAY_CAPABILITY_HTTP_TIMEOUT_SECONDS = 2
        monkeypatch.setenv("SELFPLAY_CREDENTIAL_CLUB_PROFILE", SECRET)
        monkeypatch.setenv("SELFPLAY_CREDENTIAL_CLUB_BROKEN", SECRET)
        plugin = ReadAuthenticated("read_authenticated")
        assert plugin.perform(request("read_authenticated", service="club", scope="profile")) == {
            "status": 200, "text": "profile for Bearer [credential]"}
        assert failure_code(plugin, request("read_authenticated", service="club", scope="admin")) == "invalid"
        monkeypatch.delenv("SELFPLAY_CREDENTIAL_CLUB_PROFILE")
        assert failure_code(plugin, request("read_authenticated", service="club", scope="profile")) == "refused"
        monkeypatch.setenv("SELFPLAY_CREDENTIAL_CLUB_PROFILE", SECRET)

        # Through the worker's service: the recorded result of a success and of a failure.
        settings.SELFPLAY_CAPABILITIES = {"read_authenticated": "agents.capabilities.builtin.ReadAuthenticated"}
        for n, scope in enumerate(("profile", "broken")):
            services.perform(record_request(f"0e4b7c4a-52d4-4b8e-9d65-7d0c6b1a010{n}", "read_authenticated",
                                            {"service": "club", "scope": scope}))
        seen = [s.headers.get("Authorization") for s in server.seen]
    assert seen == [f"Bearer {SECRET}"] * 3
    results = [e.data["result"] for e in capability_events("capability.completed")]
    assert results == [{"status": 200, "text": "profile for Bearer [credential]"},
                       {"status": 500, "text": "[credential]"}]
    assert SECRET not in json.dumps([e.to_wire() for e in capability_events()])
    assert SECRET not in caplog.text


def test_post_signs_the_body_and_sends_the_request_id_as_idempotency_key(settings, monkeypatch):
    applied = {}
    def receive(seen):
        key = seen.headers["Idempotency-Key"]
        applied.setdefault(key, json.loads(seen.body))  # the service applies a key once
        return 202, {}, b""
    with loopback({"/hook": receive, "/down": lambda seen: (503, {}, b"")}) as server:
        settings.SELFPLAY_POST_SERVICES = {"town": {"url": server.url("/hook"), "secret_env": "TOWN_SECRET"},
                                           "down": {"url": server.url("/down"), "secret": "x"},
                                           "nosecret": {"url": server.url("/hook")}}
        monkeypatch.setenv("TOWN_SECRET", "hook-secret")
        plugin = SignedWebhookPost("post")
        req = request("post", service="town", content="the bridge is built")
        assert plugin.perform(req) == {"status": 202}
        assert plugin.perform(req) == {"status": 202}  # performed again after a worker died
        assert failure_code(plugin, request("post", service="down", content="x")) == "refused"
        assert failure_code(plugin, request("post", service="nosecret", content="x")) == "refused"
        assert failure_code(plugin, request("post", service="nowhere", content="x")) == "invalid"
        first, second = server.seen[:2]
    body = b'{"agentId":"ada","content":"the bridge is built","requestId":"0e4b7c4a-52d4-4b8e-9d65-7d0c6b1a00ca"}'
    assert first.body == second.body == body
    assert first.headers["X-Selfplay-Signature"] == "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == req.request_id
    assert applied == {req.request_id: json.loads(body)}
