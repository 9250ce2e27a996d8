"""Attack tests: each plays an adversary from DESIGN.md and fails if the attack works."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import simcord

from bot.db import Database, discover_migrations
from bot.services import safety
from tests.conftest import World, make_settings
from tests.test_anonymous import anonymous_posts, circle_with_members, post
from tests.test_moderation import staff

# --- Database files ---
# The adversary holds copies of the `.db`, `-wal` and `-shm` (and backups), once or twice, but
# not the master secret. They read every row, diff two copies and search the raw bytes.

_FILES_TEXT = "Scrap check: the night shelter on the quay turned us away again."
_FILES_ANONYMOUS_TABLES = ("anon_posts", "anon_labels", "anon_blocks")

_FilesRows = dict[str, set[tuple[object, ...]]]


def _files_of(database: Path) -> list[Path]:
    return [p for p in (database, Path(f"{database}-wal"), Path(f"{database}-shm")) if p.exists()]


def _files_copy(world: World, folder: Path) -> _FilesRows:
    """Copy the live database files as someone with access to the disk would, and read every
    row of every table from the copy."""
    folder.mkdir()
    live = world.settings.database_path
    for path in _files_of(live):
        shutil.copy(path, folder / path.name.replace(live.stem, "copy"))
    conn = sqlite3.connect(folder / f"copy{live.suffix}")
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: set(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    finally:
        conn.close()


def _files_changed(before: _FilesRows, after: _FilesRows) -> tuple[set[str], set[str]]:
    """(named tables, anonymous tables) whose rows differ between two copies."""
    changed = {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}
    anonymous = {t for t in changed if t in _FILES_ANONYMOUS_TABLES}
    return changed - anonymous, anonymous


def _files_raw(world: World) -> bytes:
    """The raw bytes of the database and its WAL, free pages and old frames included."""
    live = world.settings.database_path
    return b"".join(p.read_bytes() for p in _files_of(live) if not p.name.endswith("-shm"))


def _files_id_forms(user_id: int) -> list[bytes]:
    return [str(user_id).encode(), user_id.to_bytes(8, "big"), user_id.to_bytes(8, "little")]


async def _files_delivered(world: World, thread: simcord.ChannelHandle, count: int) -> None:
    """Let time pass until `count` anonymous posts are in the thread (whatever delay is set)."""
    for _ in range(60):
        if len(anonymous_posts(thread)) >= count:
            return
        await world.env.advance_time(30)
    raise AssertionError("the post was never delivered")


def _files_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def _files_loose_umask() -> Iterator[None]:
    """A process umask as most systems set it (022), restored afterwards."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def test_two_copies_around_mydata_delete_and_anon_delete_link_nothing(
    world: World, tmp_path: Path
) -> None:
    """Copies before and after /mydata delete, and after /anon delete, never show named and
    anonymous rows changing together."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    await post(world.bob, thread, text="Someone else's post stays where it is.")
    await _files_delivered(world, thread, 2)
    first = _files_copy(world, tmp_path / "first")

    asked = await world.alice.slash(world.general, "mydata delete")
    await world.alice.click(asked.response.message, label="Delete my data")
    second = _files_copy(world, tmp_path / "second")
    named, anonymous = _files_changed(first, second)
    assert named, "/mydata delete changed nothing, so this check would prove nothing"
    assert not anonymous, f"/mydata delete also changed {sorted(anonymous)}"

    await world.env.advance_time(60 * 60)  # later, at a time of her choosing
    picker = await world.alice.slash(world.general, "anon delete", circle="Tuesday circle")
    await world.alice.select(picker.response.message, values=["all"])
    third = _files_copy(world, tmp_path / "third")
    named, anonymous = _files_changed(second, third)
    assert anonymous, "/anon delete changed nothing, so this check would prove nothing"
    assert not named, f"/anon delete also changed {sorted(named)}"
    assert len(anonymous_posts(thread)) == 1


async def test_raw_files_hold_neither_dropped_text_nor_a_deleted_id(world: World) -> None:
    """The bytes of the .db and -wal lose a post's text within a minute of delivery, and the
    member's id (as text or as an 8-byte integer) once they delete their data."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread, text=_FILES_TEXT)
    await _files_delivered(world, thread, 1)
    await world.env.advance_time(61)
    raw = _files_raw(world)
    assert raw, "no database bytes were read"
    assert _FILES_TEXT.encode() not in raw, "delivered text left in the files"

    assert any(form in raw for form in _files_id_forms(world.alice.id)), "id never stored"
    asked = await world.alice.slash(world.general, "mydata delete")
    await world.alice.click(asked.response.message, label="Delete my data")
    raw = _files_raw(world)
    for form in _files_id_forms(world.alice.id):
        assert form not in raw, f"deleted id left in the files as {form!r}"
    assert _FILES_TEXT.encode() not in raw


async def test_closing_a_circle_scrubs_held_text_at_once(world: World) -> None:
    """A post held for review is gone from the raw files as soon as its circle closes."""
    thread, _ = await circle_with_members(world, review=True)
    await post(world.alice, thread, text=_FILES_TEXT)
    assert _FILES_TEXT.encode() in _files_raw(world)
    await world.mod.slash(thread, "circle close")
    assert _FILES_TEXT.encode() not in _files_raw(world)


async def test_deleting_or_removing_a_post_scrubs_its_text_at_once(world: World) -> None:
    """/anon delete of a held post, and a moderator removing a delivered one, leave its text
    in neither the .db nor the -wal, without waiting for the periodic pass."""
    await staff(world)
    held, _ = await circle_with_members(world, review=True)
    await post(world.alice, held, text=_FILES_TEXT)
    assert _FILES_TEXT.encode() in _files_raw(world)
    picker = await world.alice.slash(world.general, "anon delete", circle="Tuesday circle")
    await world.alice.select(picker.response.message, values=["all"])
    assert _FILES_TEXT.encode() not in _files_raw(world)

    other = "Second scrap check: the outreach van stopped coming after the raid."
    # Straight delivery, so the periodic pass has not run before the removal.
    await world.admin.slash(world.general, "setup delay", max_seconds=0)
    thread, _ = await circle_with_members(world, name="Second circle")
    await post(world.bob, thread, text=other)
    await _files_delivered(world, thread, 1)
    assert other.encode() in _files_raw(world)
    message = anonymous_posts(thread)[0]
    await world.mod.slash(world.general, "mod remove", post=message.jump_url, reason="outing")
    assert anonymous_posts(thread) == []
    assert other.encode() not in _files_raw(world)


async def test_stored_anonymous_times_are_coarse(world: World) -> None:
    """A copy gives anonymous rows' times to the minute and delivery due times to the second,
    so they cannot be lined up with a membership's exact time."""
    thread, _ = await circle_with_members(world)
    await world.env.advance_time(17.345)
    await post(world.alice, thread)
    await _files_delivered(world, thread, 1)
    row = await world.db.fetchone("SELECT created_at, deliver_at, decided_at FROM anon_posts")
    for column in ("created_at", "decided_at"):
        when = datetime.fromisoformat(row[column])
        assert (when.second, when.microsecond) == (0, 0), column
    assert datetime.fromisoformat(row["deliver_at"]).microsecond == 0


async def test_database_wal_shm_backup_and_data_folder_are_private(
    tmp_path: Path, _files_loose_umask: None
) -> None:
    """Under an ordinary 022 umask the database, -wal, -shm and a backup are 0600, and a data
    folder the bot creates is 0700."""
    settings = make_settings(tmp_path, DATABASE_PATH=str(tmp_path / "data" / "bot.db"))
    db = await Database.open(settings.database_path)
    try:
        await db.execute("INSERT INTO guild_config (guild_id) VALUES (1)")
        live = settings.database_path
        for path in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):
            assert _files_mode(path) == 0o600, path.name
        os.umask(0o022)  # as `bot backup` may run from another shell
        backup = safety.backup_database(live, tmp_path / "data" / "backups" / "copy.db")
    finally:
        await db.close()
    assert _files_mode(backup) == 0o600
    assert _files_mode(backup.parent) == 0o700
    assert _files_mode(tmp_path / "data") == 0o700


async def test_existing_readable_database_is_tightened_at_start(
    tmp_path: Path, _files_loose_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A 0644 database in a folder the operator chose is made 0600 at start, with a log line;
    the folder itself is left as it is."""
    chosen = tmp_path / "chosen"
    chosen.mkdir(mode=0o755)
    chosen.chmod(0o755)
    path = chosen / "bot.db"
    db = await Database.open(path)
    await db.close()
    path.chmod(0o644)
    caplog.set_level(logging.INFO)
    db = await Database.open(path)
    await db.close()
    assert _files_mode(path) == 0o600
    assert _files_mode(chosen) == 0o755
    assert any(str(path) in r.getMessage() and "private" in r.getMessage() for r in caplog.records)


async def test_upgrade_leaves_no_deleted_rows_in_free_pages(tmp_path: Path) -> None:
    """Rows deleted before secure_delete was on are gone from the file after an upgrade."""
    path = tmp_path / "old.db"
    migrations = discover_migrations()
    db = await Database.open(path, migrations=migrations[:-1])
    await db.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA secure_delete = OFF")
    marker = "scrap of an old warning about someone"
    conn.executemany(
        "INSERT INTO mod_log (guild_id, action, details, created_at) VALUES (1, 'warn', ?, 'x')",
        [(f"{marker} {i} " + "x" * 500,) for i in range(40)],
    )
    conn.commit()
    conn.execute("INSERT INTO guild_config (guild_id) VALUES (1)")
    conn.execute("DELETE FROM mod_log")
    conn.commit()
    conn.close()
    assert marker.encode() in path.read_bytes()
    db = await Database.open(path)
    await db.close()
    assert marker.encode() not in path.read_bytes()


async def test_member_who_left_deletes_their_post_from_another_channel(world: World) -> None:
    """After /circle leave, /anon mine and /anon delete with the circle named, in another
    channel, still find and delete the member's own post, privately."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    await _files_delivered(world, thread, 1)
    await world.alice.slash(thread, "circle leave")
    assert (
        await world.db.fetchval(
            "SELECT count(*) FROM memberships WHERE user_id = ?", (world.alice.id,)
        )
        == 0
    )
    mine = await world.alice.slash(world.general, "anon mine", circle="Tuesday circle")
    assert mine.ephemeral
    assert "posted" in mine.response.content
    picker = await world.alice.slash(world.general, "anon delete", circle="tuesday circle")
    assert picker.ephemeral
    token = (await world.db.fetchone("SELECT token FROM anon_posts"))["token"]
    done = await world.alice.select(picker.response.message, values=[token])
    assert done.response.content == "Deleted."
    assert anonymous_posts(thread) == []
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts") == 0
    nothing = await world.bob.slash(world.general, "anon mine", circle="Tuesday circle")
    assert "no anonymous posts" in nothing.response.content
