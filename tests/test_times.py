"""The database's one time form: fixed width in UTC, so stored strings sort as times do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.services import times

WHEN = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def test_stored_times_sort_as_the_times_do_whatever_their_zone_or_fraction() -> None:
    moments = [
        WHEN.replace(microsecond=0),  # no fraction: still the same width
        WHEN,
        (WHEN + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=-5))),
    ]
    texts = [times.stored(m) for m in moments]
    assert texts == sorted(texts)
    assert len({len(t) for t in texts}) == 1
    assert [times.read(t) for t in texts] == moments


def test_anonymous_rows_keep_the_minute_and_due_times_the_second() -> None:
    assert times.read(times.to_minute(WHEN)) == WHEN.replace(second=0, microsecond=0)
    assert times.read(times.to_second(WHEN)) == WHEN.replace(microsecond=0)
    assert times.read_optional(None) is None


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        times.stored(datetime(2026, 3, 4, 5, 6))
