"""How the database stores times: one fixed-width text form, always UTC, always microseconds.

Fixed width keeps string order equal to time order, so services compare stored times in SQL.
Some rows keep less than the time itself (`to_minute`, `to_second`): that is what they store,
in the same form.
"""

from __future__ import annotations

from datetime import UTC, datetime


def stored(when: datetime) -> str:
    """`when` as the database keeps it (and as a bound for comparing stored times)."""
    if when.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def to_minute(when: datetime) -> str:
    """A stored time of an anonymous row: to the minute, so it says little about who wrote."""
    return stored(when.replace(second=0, microsecond=0))


def to_second(when: datetime) -> str:
    """A due time (an anonymous post's delivery): to the second."""
    return stored(when.replace(microsecond=0))


def read(value: str) -> datetime:
    return datetime.fromisoformat(value)


def read_optional(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
