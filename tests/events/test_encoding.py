"""The fast paths of the store's encoding agree with their plain definitions, for any input."""

from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.hashing import chain_hash, envelope_json, plain_event_hash
from events.selectors import load_stored_json
from selfplay.canonical import (
    INT_RANGE,
    canonical_json,
    canonical_text,
    plain_json_text,
    portable,
    storable,
    strict_json_text,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@given(event_id=st.text(), stream_id=st.text(), type_=st.text(), position=st.integers(min_value=1),
       data=st.dictionaries(st.text(), json_values, max_size=4),
       metadata=st.dictionaries(st.text(), json_values, max_size=3))
def test_the_envelope_is_the_canonical_json_of_its_fields(event_id, stream_id, type_, position, data, metadata):
    envelope = envelope_json(event_id=event_id, stream_id=stream_id, position=position, type=type_,
                             data_json=canonical_json(data), metadata_json=canonical_json(metadata))
    assert envelope == canonical_json({"id": event_id, "streamId": stream_id, "position": position,
                                       "type": type_, "data": data, "metadata": metadata})


plain_names = st.from_regex(r"[A-Za-z0-9:._-]{1,40}", fullmatch=True)


@given(prev_hash=st.text(), event_id=plain_names, stream_id=plain_names, type_=plain_names,
       position=st.integers(min_value=1), data=st.dictionaries(st.text(), json_values, max_size=4))
def test_the_appends_one_step_hash_is_the_chain_hash_of_the_envelope(prev_hash, event_id, stream_id, type_,
                                                                     position, data):
    data_json, metadata_json = canonical_json(data), canonical_json({"actor": "system"})
    assert plain_event_hash(prev_hash, event_id, stream_id, position, type_, data_json, metadata_json) == chain_hash(
        prev_hash, envelope_json(event_id=event_id, stream_id=stream_id, position=position, type=type_,
                                 data_json=data_json, metadata_json=metadata_json))


def _plainly_storable(value) -> bool:
    """The definition: UTF-8 text, no NUL anywhere, integers within 64 bits."""
    def ok(v):
        if isinstance(v, bool) or v is None or isinstance(v, float):
            return True
        if isinstance(v, int):
            return v in INT_RANGE
        if isinstance(v, str):
            return "\x00" not in v and not any(0xD800 <= ord(c) <= 0xDFFF for c in v)
        if isinstance(v, list):
            return all(ok(item) for item in v)
        return all(ok(k) and ok(item) for k, item in v.items())
    return ok(value)


@given(json_values)
def test_storable_matches_its_definition(value):
    assert storable(value) == _plainly_storable(value)
    assert storable(value, canonical_json(value)) == _plainly_storable(value)


def test_integers_at_the_edges_of_64_bits():
    assert storable({"n": [2**63 - 1, -(2**63)]}) and storable({"n": "1" * 40})
    assert not storable({"n": 2**63}) and not storable([{"n": -(2**63) - 1}])
    assert json.loads(canonical_json({"n": 2**63 - 1})) == {"n": 2**63 - 1}


@given(json_values)
def test_the_reader_gives_back_exactly_what_was_stored(value):
    if storable(value):
        text = canonical_json(value)
        assert canonical_json(load_stored_json(text)) == text  # floats, -0.0 and 64-bit integers included


# Floats near the places where writers disagree (1e-4 and 1e16), and the corners of strings.
awkward_floats = st.sampled_from([1e-5, 5.8e-05, 0.0001, 0.00012, 1e15, 1e16, 1.5e16, 1e300, 5e-324,
                                  -0.0, 0.1, 2.0**53, 1.7976931348623157e308])
state_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | awkward_floats | st.text(),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=16,
)


@given(state_values)
def test_a_state_is_encoded_exactly_as_canonical_json(value):
    assert canonical_text(value)[0] == canonical_json(value)


def test_values_the_fast_encoder_cannot_write_alike_take_the_standard_one():
    class Name(str):
        def __str__(self):
            return "other"

    for value in [{"n": 2**64}, {1: "int key"}, {"sub": Name("x")}, {"tiny": 1e-7},
                  {"huge": 1e22}, [1e-5, "7e"]]:
        assert canonical_text(value)[0] == canonical_json(value)


@given(state_values)
def test_caller_values_are_encoded_exactly_as_canonical_json(value):
    assert strict_json_text(value) == canonical_json(value)


@pytest.mark.parametrize("value", [{"x": float("nan")}, {"x": [1, float("inf")]}, {"x": -float("inf"), "y": None},
                                   {"y": None, "z": [{"w": (None, float("nan"))}]}])
def test_caller_values_with_nan_or_infinity_are_refused_as_canonical_json_refuses_them(value):
    with pytest.raises(ValueError):
        canonical_json(value)
    with pytest.raises(ValueError):
        strict_json_text(value)


caller_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | awkward_floats | st.text(),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=16,
)


@given(caller_values)
def test_caller_values_are_refused_exactly_when_canonical_json_refuses_them(value):
    try:
        expected = canonical_json(value)
    except ValueError:
        with pytest.raises(ValueError):
            strict_json_text(value)
    else:
        assert strict_json_text(value) == expected


@given(caller_values)
def test_a_plain_text_is_canonical_storable_and_portable_as_it_is(value):
    text = plain_json_text(value)
    if text is not None:
        assert text == canonical_json(value)
        assert storable(value, text)
        assert portable(value, text) == (value, text)


plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
                      children, max_size=4),
    max_leaves=16,
)


@given(plain_values)
def test_every_value_without_a_float_a_wide_integer_or_a_nul_takes_the_plain_path(value):
    assert plain_json_text(value) == canonical_json(value)


class _Colour(enum.Enum):
    RED = 1


class _Text(str):
    pass


@pytest.mark.parametrize("value", [{"f": 1.0}, {"n": [2**63]}, {"n": -(2**63) - 1}, {"s": "a\x00"},
                                   {1: "int key"}, {"t": ({"deep": 0.5},)}, {"s": "\ud800"},
                                   {"enum": _Colour.RED}, {"sub": _Text("x")}])
def test_values_that_are_not_plain_have_no_plain_text(value):
    # Only exact JSON types are plain: orjson would write the enum, as its value
    assert plain_json_text(value) is None


def test_a_value_holding_itself_has_no_plain_text():
    value: dict = {}
    value["self"] = value
    assert plain_json_text(value) is None
