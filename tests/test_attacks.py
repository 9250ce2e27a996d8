"""Attack tests: each plays an adversary from the threat model (someone watching Discord, or
someone holding copies of the database files without the master secret) and fails if the
attack narrows down who wrote an anonymous post."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import random
import shutil
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path

import discord
import pytest
import simcord

from bot.client import create_bot
from bot.db import Database, discover_migrations
from bot.services import safety
from bot.services.anonymous import posts as posts_service
from bot.settings import Settings
from tests.conftest import World, build_world, make_settings, unexpected_errors
from tests.test_anonymous import anonymous_posts, circle_with_members, post
from tests.test_circles import join, open_circle
from tests.test_moderation import report, staff
from tests.test_structure import circle_with, turn_message

# --- Rounds ---

# The anonymous-posting tables (003_anonymous.sql): the only ones allowed to hold label keys.
_ROUNDS_ANON_TABLES = frozenset({"anon_labels", "anon_posts", "anon_blocks"})

_RoundsCopy = dict[str, list[dict[str, object]]]


def _rounds_copy(world: World, where: Path) -> _RoundsCopy:
    """Copy the database files as someone with access to the folder would (the `.db` and
    its `-wal`), open the copy without the bot and read every row of every table."""
    where.mkdir()
    source = world.db.path
    for suffix in ("", "-wal"):
        file = source.with_name(source.name + suffix)
        if file.exists():
            shutil.copyfile(file, where / file.name)
    conn = sqlite3.connect(where / source.name)
    conn.row_factory = sqlite3.Row
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: [dict(r) for r in conn.execute(f"SELECT * FROM {t}")] for t in tables}
    finally:
        conn.close()


def _rounds_forms(value: object) -> list[bytes]:
    """Every byte string an attacker might feed to a hash for a stored value."""
    if value is None:
        return []
    if isinstance(value, bytes):
        return [value]
    if isinstance(value, int):
        forms = [str(value).encode()]
        if -(2**63) <= value < 2**63:
            forms += [
                value.to_bytes(8, "big", signed=True),
                value.to_bytes(8, "little", signed=True),
            ]
        return forms
    return [str(value).encode()]


def _rounds_label_keys(copy: _RoundsCopy) -> set[bytes]:
    keys: set[bytes] = set()
    for table in _ROUNDS_ANON_TABLES:
        for row in copy.get(table, []):
            key = row.get("label_key")
            if isinstance(key, bytes):
                keys.add(key)
    return keys


def _rounds_derivations(copy: _RoundsCopy, key: bytes) -> list[bytes]:
    """The label key, its SHA-256, and its HMAC-SHA256 keyed by, or keying, every value in
    the file: whatever someone with the file alone can compute from the key."""
    found = [key, hashlib.sha256(key).digest()]
    others = {
        form
        for rows in copy.values()
        for row in rows
        for value in row.values()
        for form in _rounds_forms(value)
        if form != key
    }
    for other in others:
        found.append(hmac.new(other, key, hashlib.sha256).digest())
        found.append(hmac.new(key, other, hashlib.sha256).digest())
    return found


def _rounds_classify(copy: _RoundsCopy) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """Split every row into named and anonymous: the anonymous-posting tables and the rows of
    anonymous rounds are anonymous, everything else is named."""
    anonymous_rounds = {r["circle_id"] for r in copy.get("rounds", []) if r["mode"] == "anonymous"}
    named: set[tuple[str, str]] = set()
    anonymous: set[tuple[str, str]] = set()
    for table, rows in copy.items():
        for row in rows:
            item = (table, repr(sorted(row.items())))
            in_round = table in ("rounds", "round_turns") and row["circle_id"] in anonymous_rounds
            (anonymous if table in _ROUNDS_ANON_TABLES or in_round else named).add(item)
    return named, anonymous


def _rounds_diff(before: _RoundsCopy, after: _RoundsCopy) -> tuple[set[object], set[object]]:
    """What changed between two copies, among named rows and among anonymous rows."""
    named_before, anon_before = _rounds_classify(before)
    named_after, anon_after = _rounds_classify(after)
    return named_before ^ named_after, anon_before ^ anon_after


async def _rounds_take(
    thread: simcord.ChannelHandle, members: tuple[simcord.MemberActor, ...]
) -> tuple[simcord.MemberActor, simcord.InteractionResult]:
    """Every member presses Take my turn on the turn message; only the holder gets a choice."""
    found = []
    message = turn_message(thread)
    for member in members:
        result = await member.click(message, label="Take my turn")
        assert result.ephemeral
        if "isn't your turn" not in result.response.content:
            found.append((member, result))
    assert len(found) == 1, "exactly one member should hold the piece"
    return found[0]


async def _rounds_running(world: World, thread: simcord.ChannelHandle) -> bool:
    return bool(
        await world.db.fetchval(
            "SELECT 1 FROM rounds r JOIN circles c ON c.id = r.circle_id WHERE c.thread_id = ?",
            (thread.id,),
        )
    )


@pytest.mark.parametrize("mode", ["named", "anonymous"])
async def test_round_after_a_new_agreement_takes_every_member(world: World, mode: str) -> None:
    """After a new agreement only one member re-accepts; a round then starts. It must go round
    all three members, say 3 people, and (named) mention each one, so it never singles out
    the one who re-accepted (the only one who can post anonymously). Those who have not
    re-accepted are asked privately when the piece reaches them, and can pass."""
    members = (world.alice, world.bob, world.carol)
    thread, _, _ = await circle_with(world, *members)
    await world.mod.slash(thread, "circle agreements add", text="Cameras stay off.")
    shown = await world.alice.click(thread.last_message, label="Read and accept")
    await world.alice.click(shown.response.message, label="I agree")

    started = await world.mod.slash(thread, "circle round start", mode=mode)
    assert started.ephemeral and "3 people" in started.response.content
    assert any("round 3 people" in m.content for m in thread.history())

    held = []
    while await _rounds_running(world, thread):
        announced = turn_message(thread)
        holder, taken = await _rounds_take(thread, members)
        held.append(holder.id)
        if mode == "named":
            assert [u.id for u in announced.mentions] == [holder.id]
        else:
            assert announced.mentions == []
        if holder is not world.alice:
            # Asked privately, never in the thread; Share waits until they accept.
            assert "new agreement" in taken.response.content
            labels = [c.label for row in taken.response.message.components for c in row.children]
            assert "Share" not in labels and "Pass" in labels
        passed = await holder.click(taken.response.message, label="Pass")
        assert passed.response.ephemeral and "passed" in passed.response.content
    assert sorted(held) == sorted(m.id for m in members)


async def test_db_copy_during_anonymous_round_holds_no_label_key(
    world: World, tmp_path: Path
) -> None:
    """A copy of the files taken during an anonymous round, with a member who joined after it
    began and posted: no table outside the anonymous-posting tables holds a label key, its
    SHA-256, or its HMAC keyed by (or keying) anything else in the file, so nobody can tell
    which label keys are in the round and which joined later."""
    thread, card, _ = await circle_with(world, world.alice, world.bob)
    for member in (world.alice, world.bob):
        await post(member, thread, f"Something {member.name} wanted to say.")
    await world.mod.slash(thread, "circle round start", mode="anonymous", turn_minutes=30)
    await join(world, world.carol, card)
    await post(world.carol, thread, "I joined late, and this is mine.")
    await world.env.advance_time(180)
    assert await _rounds_running(world, thread)

    copy = _rounds_copy(world, tmp_path / "copy")
    keys = _rounds_label_keys(copy)
    assert len(keys) == 3, "every author's label key should be in the anonymous tables"
    assert copy["round_turns"], "the round should be in the copy"
    for key in keys:
        derived = _rounds_derivations(copy, key)
        for table, rows in copy.items():
            if table in _ROUNDS_ANON_TABLES:
                continue
            for row in rows:
                for column, value in row.items():
                    for form in _rounds_forms(value):
                        for secret in derived:
                            assert secret not in form and secret.hex() not in form.decode(
                                "latin-1"
                            ), f"{table}.{column} holds a value computable from a label key"


async def test_leaving_during_anonymous_round_changes_named_rows_only(
    world: World, tmp_path: Path
) -> None:
    """Copies of the files before and after `/circle leave` during an anonymous round: the
    leave changes named rows only, so the diff does not tie the member to a round entry; and
    when the piece later passes the departed member's place, no named row changes."""
    members = (world.alice, world.bob, world.carol)
    thread, _, _ = await circle_with(world, *members)
    for member in members:
        await post(member, thread, f"Something {member.name} wanted to say.")
    await world.env.advance_time(300)
    await world.mod.slash(thread, "circle round start", mode="anonymous")
    holder, taken = await _rounds_take(thread, members)
    leaver = next(m for m in members if m is not holder)

    before = _rounds_copy(world, tmp_path / "before")
    left = await leaver.slash(thread, "circle leave")
    assert "left" in left.response.content
    after = _rounds_copy(world, tmp_path / "after")
    named, anonymous = _rounds_diff(before, after)
    assert named, "leaving changed no named row, so this check would prove nothing"
    assert not anonymous, "leaving changed anonymous rows in the same moment"

    await holder.click(taken.response.message, label="Pass")
    passed = _rounds_copy(world, tmp_path / "passed")
    named, anonymous = _rounds_diff(after, passed)
    assert anonymous and not named
    stayed = tuple(m for m in members if m is not leaver and m is not holder)
    last, taken = await _rounds_take(thread, stayed)
    await last.click(taken.response.message, label="Pass")
    ended = _rounds_copy(world, tmp_path / "ended")
    named, anonymous = _rounds_diff(passed, ended)
    assert anonymous and not named
    assert not await _rounds_running(world, thread), "the departed member's place was skipped"


# --- Watching Discord ---
# The adversary reads every public message and its timestamp, and sees totals as they change,
# but not who pressed a button or opened a form. These tests run on a server left at the
# bot's defaults, as a fresh server is.

_WATCH_DELAY_BOUND = 120  # the default random delay, in seconds
_WATCH_STEP = 5  # how finely the watcher samples the thread, in seconds


@pytest.fixture
async def _watch_world(settings: Settings) -> AsyncIterator[World]:
    """The bot in a simulated server whose delivery delay is the bot's own default."""
    bots = [create_bot(settings)]
    env = simcord.Env(bots[0])
    await env.start()
    try:
        yield build_world(env, bots, settings)
    finally:
        await env.shutdown()
        for bot in bots:
            await bot.close()
    problems = unexpected_errors(env)
    if problems:
        raise problems[0]


def _watch_queue_items(world: World) -> list[discord.Message]:
    return [m for m in world.queue.history() if m.embeds and m.embeds[0].title]


async def _watch_until(world: World, seen: Callable[[], object], *, limit: float) -> float:
    """Advance the clock in small steps until `seen()` is true; return the seconds it took."""
    waited = 0.0
    while not seen():
        assert waited <= limit, f"nothing appeared within {limit} seconds"
        await world.env.advance_time(_WATCH_STEP)
        waited += _WATCH_STEP
    return waited


async def test_watch_fresh_server_posts_wait_a_random_time(
    _watch_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fresh server a post is not visible when its author submits it, and the waits
    are spread across the window (not one fixed wait); every post appears exactly once."""
    world = _watch_world
    # Where the outbox draws delivery delays from; raising: a rename must fail here.
    monkeypatch.setattr(posts_service, "DELAY_RANDOM", random.Random(20260101))
    thread, card = await open_circle(world)
    authors = [world.alice, world.bob, world.carol]
    for member in authors:
        await join(world, member, card)
    waits = []
    for n in range(6):
        before = len(anonymous_posts(thread))
        await post(authors[n % 3], thread, text=f"Post number {n}, written just now.")
        assert len(anonymous_posts(thread)) == before, "the post appeared as it was submitted"

        def arrived(count: int = before) -> bool:
            return len(anonymous_posts(thread)) > count

        waits.append(await _watch_until(world, arrived, limit=_WATCH_DELAY_BOUND))
    assert max(waits) - min(waits) >= 30, f"waits hardly vary: {waits}"
    assert len(set(waits)) >= 4, f"waits look fixed: {waits}"
    await world.env.advance_time(_WATCH_DELAY_BOUND * 2)
    bodies = [m.embeds[0].description or "" for m in anonymous_posts(thread)]
    assert sorted(bodies) == sorted(f"Post number {n}, written just now." for n in range(6))


async def test_watch_review_queue_item_waits_and_approval_is_delayed(
    _watch_world: World,
) -> None:
    """In a review circle the moderators' queue item is not created when the post is
    submitted, and approving it does not publish it at the moment of approval."""
    world = _watch_world
    thread, card = await open_circle(world, review=True)
    for member in (world.alice, world.bob, world.carol):
        await join(world, member, card)
    await post(world.alice, thread)
    assert _watch_queue_items(world) == [], "the queue item appeared as the post was submitted"
    await _watch_until(world, lambda: _watch_queue_items(world), limit=_WATCH_DELAY_BOUND)
    assert len(_watch_queue_items(world)) == 1
    item = _watch_queue_items(world)[0]
    approved = await world.mod.click(item, label="Approve")
    assert approved.acknowledged
    assert anonymous_posts(thread) == [], "the post appeared at the moment of approval"
    await _watch_until(world, lambda: anonymous_posts(thread), limit=_WATCH_DELAY_BOUND)
    await world.env.advance_time(_WATCH_DELAY_BOUND)
    assert len(anonymous_posts(thread)) == 1


async def test_watch_one_member_circle_says_how_few(_watch_world: World) -> None:
    """Alone in a circle, the author is told how few people are in it, on the form, in the
    acknowledgement and on the card, and is never told nobody can tell it was them."""
    world = _watch_world
    thread, card = await open_circle(world)
    await join(world, world.mod, card)  # the keeper, alone in the circle
    shown = await world.mod.slash(thread, "anon post")
    assert shown.modal is not None
    assert "Only 1 person is in this circle" in str(shown.modal)
    done = await world.mod.submit_modal(shown, {"message": "Just me here.", "content_note": ""})
    answer = done.response.content
    assert "Only 1 person is in this circle" in answer and "too few to hide in" in answer
    assert "Nobody" not in answer and "nobody" not in answer
    card_now = next(m for m in world.general.history() if m.id == card.id)
    fields = " ".join(str(f.value) for f in card_now.embeds[0].fields)
    assert "Only 1 person is in this circle" in fields


async def test_watch_checkin_totals_hide_each_answer(_watch_world: World) -> None:
    """The check-in message does not change per option after the first and second answers,
    and shows the totals only once a third has answered and 30 seconds have passed."""
    world = _watch_world
    thread, card = await open_circle(world)
    for member in (world.alice, world.bob, world.carol):
        await join(world, member, card)
    await world.mod.slash(thread, "circle checkin")
    checkin = thread.last_message
    assert checkin is not None

    def current() -> str:
        return next(m for m in thread.history() if m.id == checkin.id).content

    untouched = current()
    await world.alice.click(checkin, label="Clear")
    assert current() == untouched, "the first answer changed the public totals"
    await world.bob.click(checkin, label="Stormy")
    assert current() == untouched, "the second answer changed the public totals"
    await world.carol.click(checkin, label="Stormy")
    assert "Stormy: **2**" not in current(), "totals moved at the moment of the third answer"
    await world.env.advance_time(30)
    shown = current()
    assert "Clear: **1**" in shown and "Stormy: **2**" in shown and "Rainy: **0**" in shown


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


# --- Review findings ---
# Each test plays the adversary against a weakness a security review found.


async def test_watch_keeper_who_never_joined_is_not_counted_as_company(
    _watch_world: World,
) -> None:
    """A keeper who never joined cannot post, so the "too few to hide in" count leaves them
    out: with four members and such a keeper, the author is told there are only 4 of them
    (on the form, in the acknowledgement and on the card), and never that nobody can tell."""
    world = _watch_world
    thread, card = await open_circle(world)  # Mona keeps the circle and does not join
    for member in (world.alice, world.bob, world.carol, world.admin):
        await join(world, member, card)
    shown = await world.alice.slash(thread, "anon post")
    assert shown.modal is not None
    assert "Only 4 people are in this circle" in str(shown.modal)
    done = await world.alice.submit_modal(shown, {"message": "Four of us.", "content_note": ""})
    answer = done.response.content
    assert "Only 4 people are in this circle" in answer, answer
    assert "Nobody" not in answer and "nobody" not in answer
    card_now = next(m for m in world.general.history() if m.id == card.id)
    fields = " ".join(str(f.value) for f in card_now.embeds[0].fields)
    assert "Only 4 people are in this circle" in fields


async def test_watch_no_delay_never_promises_nobody_can_tell(world: World) -> None:
    """With the server's random delay at 0 (this fixture's setting), a post appears right
    after its author's activity: the acknowledgement says so instead of "Nobody ... can see
    that it was you", in a circle big enough to hide in."""
    thread, card = await open_circle(world)
    for member in (world.alice, world.bob, world.carol, world.admin, world.mod):
        await join(world, member, card)
    _, done = await post(world.alice, thread)
    answer = done.response.content
    assert "Nobody" not in answer and "nobody" not in answer, answer
    assert "straight away" in answer and "may guess" in answer


async def test_migration_copy_holds_no_deleted_rows(tmp_path: Path) -> None:
    """The `.bak-v<N>` copy taken before an upgrade holds the live rows, mode 0600, but none
    of the rows deleted before it (even before secure_delete was on), for someone who finds
    the copy lying beside the database."""
    path = tmp_path / "old.db"
    migrations = discover_migrations()
    db = await Database.open(path, migrations=migrations[:-1])
    await db.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA secure_delete = OFF")
    marker = "scrap of a deleted report about someone"
    conn.executemany(
        "INSERT INTO mod_log (guild_id, action, details, created_at) VALUES (1, 'warn', ?, 'x')",
        [(f"{marker} {i} " + "x" * 500,) for i in range(40)],
    )
    conn.commit()
    conn.execute("INSERT INTO guild_config (guild_id) VALUES (1)")
    conn.execute("DELETE FROM mod_log")
    conn.commit()
    conn.close()
    db = await Database.open(path)
    await db.close()
    backup = tmp_path / f"old.db.bak-v{len(migrations) - 1}"
    assert _files_mode(backup) == 0o600
    assert marker.encode() not in backup.read_bytes(), "the copy holds deleted rows"
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("SELECT guild_id FROM guild_config").fetchall() == [(1,)]
    finally:
        copy.close()


async def test_db_copy_cannot_group_reports_by_who_sent_them(world: World, tmp_path: Path) -> None:
    """Filing reports writes nothing but the reports themselves: no row outside `reports`
    (keyed, timed or ordered like them) lets someone holding a copy of the files group
    reports by sender, so one report whose reporter agreed to be contacted names no other."""
    await staff(world)
    thread, _ = await circle_with_members(world)
    said = await world.alice.send(thread, "Words someone may report.")
    before = _rounds_copy(world, tmp_path / "before")
    await report(world.bob, thread, said, reason="first from Bob", contact="yes")
    await report(world.mod, thread, said, reason="from Mona")
    await report(world.bob, thread, said, reason="second from Bob")
    after = _rounds_copy(world, tmp_path / "after")
    assert "report_limits" not in after
    changed = {
        table
        for table in set(before) | set(after)
        if table != "reports"
        and sorted(map(repr, before.get(table, []))) != sorted(map(repr, after.get(table, [])))
    }
    assert changed == set(), f"filing reports also wrote to {changed}"
    assert len(after["reports"]) == 3


async def test_raw_files_lose_a_discarded_draft_within_a_minute(world: World) -> None:
    """A draft held for identifying details, then edited into another held draft, leaves the
    first draft's words in no raw file (the .db or its -wal) a minute later."""
    thread, _ = await circle_with_members(world)
    first = "Scrap check: ring me at the hostel on 0161 496 0000 tonight"
    held = (await post(world.alice, thread, text=first))[1]
    assert "phone number" in held.response.content
    assert first.encode() in _files_raw(world)
    edit = await world.alice.click(held.response.message, label="Edit")
    assert edit.modal is not None
    again = await world.alice.submit_modal(
        edit, {"message": "Or write to me at someone@example.org instead", "content_note": ""}
    )
    assert "email" in again.response.content.lower()
    await world.env.advance_time(61)
    assert first.encode() not in _files_raw(world), "the discarded draft stayed in the files"


async def test_decided_report_text_leaves_the_files_within_a_minute(world: World) -> None:
    """Once a moderator decides a report, the reported words and the reason are in no raw
    file a minute later."""
    await staff(world)
    thread, _ = await circle_with_members(world)
    said = await world.alice.send(thread, "Words someone may report.")
    reason = "Scrap check: this one names the flat above the bakery"
    await report(world.bob, thread, said, reason=reason)
    assert reason.encode() in _files_raw(world)
    item = world.queue.last_message
    assert item is not None
    decided = await world.mod.click(item, label="Dismiss")
    assert decided.acknowledged
    await world.env.advance_time(61)
    assert reason.encode() not in _files_raw(world), "the decided report stayed in the files"


async def test_strict_circle_says_what_stays_in_the_database(world: World) -> None:
    """A strict circle's card and /privacy do not claim that post history lives only in
    memory: they say its records stay in the database until the circle closes, and that
    after a restart the author can no longer find or delete their older posts."""
    thread, card = await open_circle(world, strict=True)
    await join(world, world.alice, card)
    await post(world.alice, thread, text="Before the restart.")
    assert anonymous_posts(thread)
    card_now = next(m for m in world.general.history() if m.id == card.id)
    fields = " ".join(str(f.value) for f in card_now.embeds[0].fields)
    shown = (await world.alice.slash(world.general, "privacy")).response.embeds
    privacy = "\n\n".join(e.description or "" for e in shown)
    for text in (fields, privacy or ""):
        assert "post history here live only" not in text
        assert "stay in the database until" in text
        assert "no longer find or delete your older posts" in text
    await world.restart()
    mine = await world.alice.slash(world.general, "anon mine", circle="Tuesday circle")
    assert "no anonymous posts in this circle" in str(mine.response.content)
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts") == 1


async def _checkin_watch(
    world: World, thread: simcord.ChannelHandle
) -> tuple[discord.Message, Callable[[], str]]:
    await world.mod.slash(thread, "circle checkin")
    checkin = thread.last_message
    assert checkin is not None

    def current() -> str:
        return next(m for m in thread.history() if m.id == checkin.id).content

    return checkin, current


async def test_watch_checkin_totals_change_on_a_clock_not_a_click(world: World) -> None:
    """Totals appear on the check-in's own 30-second clock, not 30 seconds after a click:
    answers given 11 to 13 seconds in show at 30 seconds, so the edit's time says nothing
    about when anyone clicked."""
    thread, _, _ = await circle_with(world, world.alice, world.bob, world.carol)
    checkin, current = await _checkin_watch(world, thread)
    untouched = current()
    await world.env.advance_time(11)
    for member, option in ((world.alice, "Clear"), (world.bob, "Rainy"), (world.carol, "Rainy")):
        await member.click(checkin, label=option)
        await world.env.advance_time(1)
    await world.env.advance_time(15)  # 29 seconds in
    assert current() == untouched, "totals moved before the clock's first tick"
    await world.env.advance_time(2)  # 31 seconds in; a timer from a click would fire at 41
    assert "Rainy: **2**" in current(), "totals waited for a timer started by a click"


async def test_watch_checkin_one_more_answer_never_moves_the_totals(world: World) -> None:
    """After totals are shown, one or two further answers never change them, on the clock
    or when the check-in ends: the change would show what those people chose. The ended
    message keeps the last totals and says why."""
    thread, _, _ = await circle_with(world, world.alice, world.bob, world.carol)
    checkin, current = await _checkin_watch(world, thread)
    for member in (world.alice, world.bob, world.carol):
        await member.click(checkin, label="Clear")
    await world.env.advance_time(31)
    assert "Clear: **3**" in current()
    await world.mod.click(checkin, label="Stormy")  # the keeper answers too
    await world.env.advance_time(120)
    assert "Clear: **3**" in current() and "Stormy: **0**" in current(), current()
    await world.mod.slash(thread, "circle checkout")
    ended = current()
    assert "ended" in ended and "Stormy: **0**" in ended and "Stormy: **1**" not in ended
    assert "last totals shown" in ended
