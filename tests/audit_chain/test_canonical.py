"""The canonical form (pure): stable, independent of key order, and the same after the round trips the
two databases put a JSON document and a timestamp through."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from dialer.audit.chain.canonical import canonical_bytes, column_value, content_hash, normal, timestamp

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=24)
objects = st.dictionaries(st.text(max_size=8), documents, max_size=6)


def _hash(document: Any) -> str:
    return content_hash("audit_log", 1, {"detail": column_value("json", document)})


def _sqlite(document: Any) -> Any:
    """What SQLite hands back: the text json.dumps wrote, as SQLAlchemy's JSON type writes it."""
    return json.dumps(document)


def _jsonb(document: Any) -> str:
    """What PostgreSQL's jsonb hands back: numbers kept as numeric and printed in plain notation with
    the scale they were written with (1e+20 → 100000000000000000000, 1.5e-10 → 0.00000000015), keys
    reordered (shortest first)."""
    def text(value: Any) -> str:
        if isinstance(value, dict):
            keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
            return "{" + ", ".join(f"{json.dumps(key)}: {text(value[key])}" for key in keys) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(text(item) for item in value) + "]"
        if isinstance(value, Decimal):
            return format(value, "f")
        return json.dumps(value)

    return text(json.loads(json.dumps(document), parse_float=Decimal))


@given(objects, st.randoms())
def test_given_any_object_then_key_order_does_not_change_its_bytes(document, random):
    keys = list(document)
    random.shuffle(keys)
    shuffled = {key: document[key] for key in keys}
    assert canonical_bytes("t", 1, {"d": normal(shuffled)}) == canonical_bytes("t", 1, {"d": normal(document)})


@given(documents)
def test_given_any_document_then_its_hash_survives_both_databases_round_trips(document):
    assert _hash(_sqlite(document)) == _hash(document) == _hash(_jsonb(document))


@given(documents)
def test_given_any_document_then_the_canonical_form_is_a_fixed_point(document):
    once = normal(document)
    assert normal(once) == once
    assert normal(json.loads(canonical_bytes("t", 1, {"d": once}))["row"]["d"]) == once


@given(documents, documents)
def test_given_two_different_documents_then_their_hashes_differ(first, second):
    assume(normal(first) != normal(second))
    assert _hash(first) != _hash(second)


@given(st.datetimes(timezones=st.timezones(), allow_imaginary=False))
def test_given_any_instant_then_every_form_of_it_is_one_timestamp(instant):
    utc = instant.astimezone(dt.timezone.utc)
    sqlite_text = utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")  # SQLAlchemy's form
    assert column_value("timestamp", instant) == column_value("timestamp", utc) == column_value("timestamp", sqlite_text)
    assert len(timestamp(instant)) == 27 and timestamp(instant).endswith("Z")


def test_given_the_documented_examples_then_they_hold():
    assert canonical_bytes("audit_log", 1, {"detail": normal({"b": [1.0, 1e20, 0.1, 1.5e-10, -0.0], "a": "é"}),
                                            "at": column_value("timestamp", "2026-12-01 01:30:00")}) == (
        b'{"row":{"at":"2026-12-01T01:30:00.000000Z","detail":{"a":"\\u00e9","b":[1,100000000000000000000,0.1,'
        b'1.5e-10,0]}},"table":"audit_log","v":1}')
    assert column_value("json", "{not json") == "{not json"  # a hand-made value hashes as the text it is
    assert column_value("timestamp", "yesterday") == "yesterday"
