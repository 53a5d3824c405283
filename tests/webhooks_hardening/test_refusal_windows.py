"""The per-process count of refused webhooks (webhooks.refusals.RefusalWindows): the first refusal
of a source in a window is recorded, repeats are counted and reported when the window has ended,
and the memory it holds is bounded whatever the number of sources."""

from __future__ import annotations

import datetime as dt

from webhooks.refusals import OTHER_SOURCES, Closed, RefusalWindows, clip

T0 = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.timezone.utc)
S = dt.timedelta(seconds=1)


def test_given_repeats_in_a_window_then_only_the_first_is_recorded_and_the_rest_reported_once_it_ends():
    windows = RefusalWindows()

    noted = [windows.note("203.0.113.7", now=T0 + n * S) for n in range(5)]
    assert [n.first for n in noted] == [True, False, False, False, False]
    assert all(n.closed == () for n in noted)

    later = windows.note("198.51.100.2", now=T0 + 61 * S)
    assert later.first and later.window_start == T0 + 60 * S
    assert later.closed == (Closed(source="203.0.113.7", start=T0, end=T0 + 60 * S, repeats=4, last_at=T0 + 4 * S),)


def test_given_a_window_without_repeats_then_nothing_is_reported_when_it_ends():
    windows = RefusalWindows()
    windows.note("203.0.113.7", now=T0)
    assert windows.note("203.0.113.7", now=T0 + 60 * S).closed == ()


def test_given_more_sources_than_tracked_then_the_rest_share_one_bucket():
    windows = RefusalWindows(max_sources=3)

    noted = [windows.note(f"10.0.0.{n}", now=T0) for n in range(10)]
    assert [n.first for n in noted] == [True, True, True, True] + [False] * 6
    assert [n.source for n in noted[3:]] == [OTHER_SOURCES] * 7
    assert len(windows) == 4

    closed = windows.note("10.0.0.1", now=T0 + 60 * S).closed
    assert [(c.source, c.repeats) for c in closed] == [(OTHER_SOURCES, 6)]


def test_given_a_clock_stepping_back_then_the_refusal_counts_in_the_current_window():
    windows = RefusalWindows()
    windows.note("203.0.113.7", now=T0 + 60 * S)
    stepped_back = windows.note("203.0.113.7", now=T0 + 59 * S)
    assert not stepped_back.first and stepped_back.window_start == T0 + 60 * S


def test_given_flush_then_every_window_with_repeats_is_reported_and_forgotten():
    windows = RefusalWindows()
    for _ in range(3):
        windows.note("203.0.113.7", now=T0)
    assert [(c.source, c.repeats) for c in windows.flush()] == [("203.0.113.7", 2)]
    assert windows.flush() == () and len(windows) == 0


def test_clip_keeps_text_printable_and_short():
    assert clip("CA\x00\x1b\u2028\ud800x", 64) == "CA\\x00\\x1b\\u2028\\ud800x"
    assert clip("张三", 64) == "张三"
    clipped = clip("\x00" * 100, 10)
    assert len(clipped) == 10 and clipped.endswith("…") and clipped.isprintable()
    assert clip("a" * 65, 64) == "a" * 63 + "…"
    assert clip("a" * 64, 64) == "a" * 64
