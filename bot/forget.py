"""`python -m bot forget-user USER_ID [--guild ID]`: a deletion request for an account that can
no longer run `/mydata delete` (a deleted Discord account, say), carried out by the operator.

It deletes exactly what `/mydata delete` deletes (`safety.delete_member_data`), prints what it
changed per table, and says what it cannot do. With no data for the id it changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from bot.db import Database
from bot.services import safety

# Discord ids are snowflakes: 64-bit, 17 to 20 digits for anything made since 2015.
ID_DIGITS = (17, 20)
MAX_ID = 2**64 - 1

CANNOT = """\
What this cannot do:
- remove messages in Discord: messages the account wrote, and mod-log messages about it that
  the bot already posted, stay in their channels until a server admin deletes them;
- find or remove anonymous posts: they are not linked to the account in the records, so they
  stay until their circle closes or a moderator removes them;
- reach into backups or `.bak-v*` copies of the database taken before now."""


class BadId(ValueError):
    """A malformed id; `message` says what is wanted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_id(value: str | None, what: str) -> int:
    """A Discord id from the command line; BadId with a plain message otherwise."""
    text = (value or "").strip()
    if not text:
        raise BadId(f"forget-user needs {what}: the account's Discord id, a number.")
    low, high = ID_DIGITS
    if not (text.isascii() and text.isdigit() and low <= len(text) <= high) or int(text) > MAX_ID:
        raise BadId(
            f"{what} must be a Discord id: a number of 17 to 20 digits (in Discord, "
            f"Developer Mode, then Copy User ID or Copy Server ID). Got {text!r}."
        )
    return int(text)


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


async def forget_user(path: Path, user_id: int, guild_id: int | None) -> str:
    """Delete the account's named rows (one server, or all); return the report to print."""
    where = "in every server" if guild_id is None else f"in server {guild_id}"
    db = await Database.open(path)
    try:
        found = await safety.delete_member_data(db, guild_id, user_id, dry_run=True)
        if not any(found.values()):
            return (
                f"Circlekeeper holds nothing stored by user id {user_id} {where}. "
                f"Nothing was changed.\n\n{CANNOT}"
            )
        changed = await safety.delete_member_data(db, guild_id, user_id)
    finally:
        await db.close()
    lines = [f"Forgot user id {user_id} {where}:"]
    for (table, column), count in changed.items():
        if safety.USER_ID_COLUMNS[(table, column)] == "delete":
            lines.append(f"  {table}: {_rows(count)} deleted")
        else:
            lines.append(f"  {table}.{column}: id cleared in {_rows(count)} (the record is kept)")
    return "\n".join(lines) + f"\n\n{CANNOT}"
