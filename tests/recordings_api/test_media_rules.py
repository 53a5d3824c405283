"""The Range / ETag rules on their own (RFC 9110 §13, §14): pure functions, no database."""

from __future__ import annotations

import pytest

from recordings.media import (
    Head, NotModified, Part, Unsatisfiable, Whole, answer, content_range, etag_of, head_of, parse_range,
)

SIZE = 1000
ETAG = etag_of("ab" * 32)


@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=0-99", Part(0, 99)),
    ("bytes=100-", Part(100, 999)),
    ("bytes=-100", Part(900, 999)),
    ("bytes=999-999", Part(999, 999)),
    ("bytes=500-5000", Part(500, 999)),  # a last position past the end is the end
    ("bytes=-5000", Part(0, 999)),  # a suffix longer than the file is the whole file
    ("BYTES = 10-19", Part(10, 19)),  # the unit is case-insensitive
])
def test_given_one_satisfiable_range_when_parsed_then_it_is_the_inclusive_slice(header, expected):
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=1000-1200", "bytes=-0"])
def test_given_a_range_past_the_end_or_an_empty_suffix_when_parsed_then_it_is_unsatisfiable(header):
    assert parse_range(header, SIZE) == Unsatisfiable()


@pytest.mark.parametrize("header", [
    "bytes=0-1,5-6",  # several ranges: answered whole
    "items=0-1",  # another unit
    "bytes=abc", "bytes=-", "bytes=", "bytes", "bytes=5-2", "bytes=1-2-3", "bytes=--1",
])
def test_given_a_range_to_ignore_when_parsed_then_none(header):
    assert parse_range(header, SIZE) is None


def test_given_an_empty_file_when_any_range_is_asked_then_it_is_unsatisfiable():
    assert parse_range("bytes=0-", 0) == Unsatisfiable()
    assert parse_range("bytes=-10", 0) == Unsatisfiable()


def test_given_no_conditions_when_answered_then_whole_or_the_range():
    assert answer(method="GET", size=SIZE, etag=ETAG) == Whole()
    assert answer(method="GET", size=SIZE, etag=ETAG, range_header="bytes=0-9") == Part(0, 9)
    assert answer(method="GET", size=SIZE, etag=ETAG, range_header="bytes=0-1,4-5") == Whole()
    assert answer(method="GET", size=SIZE, etag=ETAG, range_header="bytes=2000-") == Unsatisfiable()


def test_given_head_when_a_range_is_asked_then_it_is_ignored():
    """RFC 9110 §14.2: range handling is defined for GET only."""
    assert answer(method="HEAD", size=SIZE, etag=ETAG, range_header="bytes=0-9") == Whole()


@pytest.mark.parametrize("header", [ETAG, f"W/{ETAG}", "*", f'"other", {ETAG}'])
def test_given_if_none_match_naming_the_content_when_answered_then_not_modified(header):
    assert answer(method="GET", size=SIZE, etag=ETAG, if_none_match=header, range_header="bytes=0-9") == NotModified()
    assert answer(method="HEAD", size=SIZE, etag=ETAG, if_none_match=header) == NotModified()


def test_given_if_none_match_naming_other_content_when_answered_then_it_is_sent():
    assert answer(method="GET", size=SIZE, etag=ETAG, if_none_match='"other"') == Whole()


def test_given_if_range_when_answered_then_the_range_only_for_the_same_strong_etag():
    ranged = {"method": "GET", "size": SIZE, "etag": ETAG, "range_header": "bytes=0-9"}
    assert answer(**ranged, if_range=ETAG) == Part(0, 9)
    assert answer(**ranged, if_range='"other"') == Whole()
    assert answer(**ranged, if_range=f"W/{ETAG}") == Whole()  # If-Range compares strongly
    assert answer(**ranged, if_range="Tue, 24 Nov 2026 03:00:00 GMT") == Whole()  # no Last-Modified is sent


def test_given_a_part_or_unsatisfiable_when_described_then_the_content_range():
    assert content_range(Part(0, 99), SIZE) == "bytes 0-99/1000"
    assert content_range(Unsatisfiable(), SIZE) == "bytes */1000"
    assert Part(10, 19).length == 10
    assert etag_of("ab" * 32) == f'"{"ab" * 32}"'


def test_given_each_answer_when_its_head_is_built_then_status_headers_and_the_bytes_to_send():
    common = {"ETag": ETAG, "Accept-Ranges": "bytes"}
    assert head_of(Whole(), size=SIZE, etag=ETAG) == Head(200, {**common, "Content-Length": "1000"}, (0, 999))
    assert head_of(Part(10, 19), size=SIZE, etag=ETAG) == Head(
        206, {**common, "Content-Range": "bytes 10-19/1000", "Content-Length": "10"}, (10, 19))
    assert head_of(Unsatisfiable(), size=SIZE, etag=ETAG) == Head(416, {**common, "Content-Range": "bytes */1000"}, None)
    assert head_of(NotModified(), size=SIZE, etag=ETAG) == Head(304, common, None)
    assert head_of(Whole(), size=0, etag=ETAG).headers["Content-Length"] == "0"
