"""Property-based run over the OpenAPI schema: no input ever gets a 5xx or an odd error shape.

Every operation of `/api/schema/` is called with parameters and bodies generated from its own
schema (`from_schema` below covers the OpenAPI subset the schema uses), mixed with arbitrary
JSON, junk bytes and every kind of caller. A refused write appends nothing.
"""

import json
from urllib.parse import quote, urlencode

import pytest
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import Event

from .conftest import client_for

pytestmark = pytest.mark.django_db

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)


def from_schema(schema: dict):
    """Return a strategy for values of an (inlined) OpenAPI schema, including near-misses."""
    if "enum" in schema:
        base = st.sampled_from(schema["enum"])
    elif schema.get("type") == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        base = st.fixed_dictionaries(
            {k: from_schema(v) for k, v in props.items() if k in required},
            optional={k: from_schema(v) for k, v in props.items() if k not in required},
        )
        if not props:
            base = st.dictionaries(st.sampled_from(["type", "dx", "dy", "text", "to", "resource", "amount",
                                                    "structure", "x"]), JSON, max_size=4)
    elif schema.get("type") == "integer":
        base = st.integers(schema.get("minimum", -(2**40)), schema.get("maximum", 2**40))
    elif schema.get("type") == "boolean":
        base = st.booleans()
    elif schema.get("format") == "uuid":
        base = st.uuids().map(str)
    elif schema.get("type") == "string":
        base = st.text(max_size=schema.get("maxLength", 40)) | st.sampled_from(
            ["agent:ada", "agent:bob", "world:meadow", "agent:zed", "system:checkpoints", "meadow"])
    else:
        base = JSON
    if schema.get("nullable"):
        base = st.none() | base
    return base | JSON if schema.get("type") != "object" else base


def _inline(node, components):
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(components[node["$ref"].rsplit("/", 1)[1]], components)
        return {k: _inline(v, components) for k, v in node.items() if k not in ("example", "examples")}
    if isinstance(node, list):
        return [_inline(v, components) for v in node]
    return node


def operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, item in sorted(schema["paths"].items()):
        if path.startswith("/api/"):
            continue
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            found.append((path, method, _inline(op.get("parameters", []), components),
                          _inline(body, components) if body else None))
    return found


# Values that reach past validation into the services, so the run is not all 400s.
PLAUSIBLE = {
    "key": st.sampled_from(["meadow", "ada", "agent:ada"]),
    "streamId": st.sampled_from(["world:meadow", "agent:ada", "agent:bob", "system:checkpoints"]),
    "after": st.integers(-2, 50).map(str),
    "limit": st.integers(-1, 6000).map(str),
}
ACTIONS = st.sampled_from([{"type": "rest"}, {"type": "idle"}, {"type": "move", "dx": 1, "dy": 0},
                           {"type": "say", "text": "hello"}, {"type": "gather"}, {"type": "eat"},
                           {"type": "give", "to": "bob", "resource": "wood", "amount": 1}])
PLAUSIBLE_COMMANDS = st.fixed_dictionaries(
    {"kind": st.sampled_from(["override", "decision", "pause", "resume"]),
     "streamId": st.sampled_from(["agent:ada", "agent:bob"])},
    optional={"action": ACTIONS, "reason": st.sampled_from(["", "because", "x" * 600]),
              "idempotencyKey": st.uuids().map(str)},
)


def param_value(param):
    schema = param.get("schema", {"type": "string"})
    generated = st.one_of(from_schema(schema), st.text(max_size=20), st.integers(-5, 10**12).map(str))
    if param["name"] in PLAUSIBLE:
        return PLAUSIBLE[param["name"]] | generated
    return generated


@st.composite
def requests(draw, path, params, body_schema):
    url = path
    query = {}
    for param in params:
        if param["in"] == "path":
            value = draw(st.one_of(st.sampled_from(["world", "agents", "leaderboard", "agent_stream", "stream"]),
                                   st.text(min_size=1, max_size=20)))
            url = url.replace("{" + param["name"] + "}", quote(str(value), safe=""))
        elif param["in"] == "query" and draw(st.booleans()):
            query[param["name"]] = draw(param_value(param))
    if query:
        url += "?" + urlencode({k: str(v) for k, v in query.items()})
    body = None
    if body_schema is not None:
        body = draw(st.one_of(
            PLAUSIBLE_COMMANDS.map(json.dumps) if path == "/command" else st.nothing(),
            from_schema(body_schema).map(json.dumps),
            JSON.map(json.dumps),
            st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
        ))
    caller = draw(st.sampled_from(["anonymous", "owner", "operator", "own_agent_key", "junk"]))
    return url, body, caller


@pytest.mark.parametrize("path,method,params,body_schema", operations(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_no_input_gets_a_server_error(principals, settings_override, path, method, params, body_schema):
    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(requests(path, params, body_schema))
    def check(request):
        url, body, caller = request
        client = principals.get(caller) or client_for()
        if caller == "junk":
            client.credentials(HTTP_AUTHORIZATION="Token \x00not-a-token")
        before = Event.objects.count()
        if method == "get":
            response = client.get(url)
        else:
            response = client.generic(method.upper(), url, body or "", content_type="application/json")
        assert response.status_code < 500, (url, body, response.content[:300])
        if response.status_code >= 400:
            error = response.json()["error"]
            assert isinstance(error["code"], str) and error["code"].islower()
            assert isinstance(error["message"], str) and error["message"]
            assert isinstance(error["details"], dict)
            assert Event.objects.count() == before

    check()


@pytest.fixture
def settings_override(settings):
    settings.SELFPLAY_COMMAND_RATE_LIMIT = 10_000




@pytest.mark.parametrize("url,auth,status", [
    ("/projection/world?key=me%00adow", None, 400),
    ("/checkpoint/latest?streamId=agent%3Aad%00a", None, 400),
    ("/projection/world?key=meadow", "Token \x00abc", 401),
    ("/projection/world?key=meadow", "AgentKey spk_\x00", 401),
])
def test_nul_bytes_are_bad_input_not_server_errors(principals, url, auth, status):
    client = client_for()
    if auth:
        client.credentials(HTTP_AUTHORIZATION=auth)
    response = client.get(url)
    assert response.status_code == status
    assert response.json()["error"]["code"] == {400: "invalid", 401: "unauthenticated"}[status]
