"""Resources, /privacy, /mydata export and delete, retention and backups."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.db import Database
from bot.services import modlog, safety
from tests.conftest import World
from tests.test_anonymous import anonymous_posts, circle_with_members, post

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# Column names that hold, or could hold, a Discord user id.
USER_ID_COLUMN = re.compile(r"(^|_)(user|member|moderator|reporter|keeper|author)(_id)?$|user_id$")


async def user_id_columns(db: Database) -> set[tuple[str, str]]:
    found = set()
    tables = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for table in tables:
        for column in await db.fetchall("SELECT name FROM pragma_table_info(?)", (table["name"],)):
            if USER_ID_COLUMN.search(column["name"]):
                found.add((table["name"], column["name"]))
    return found


# --- resources and privacy ---------------------------------------------------------------


async def test_resources_card_has_shipped_and_server_entries(world: World) -> None:
    """/resources shows the shipped services and those the server added, privately."""
    added = await world.admin.slash(
        world.general,
        "setup resources add",
        name="Harbour Peer Line",
        contact="0800 000 000",
        police="never",
        confidentiality="Run by peers; never calls police.",
    )
    assert "Added" in added.response.content
    shown = await world.alice.slash(world.general, "resources")
    assert shown.ephemeral
    description = shown.response.embeds[0].description
    assert "Harbour Peer Line" in description
    assert world.bot.library.resources[0].name in description
    assert description.index("Harbour Peer Line") < description.index(
        world.bot.library.resources[0].name
    )


async def test_card_puts_police_policy_before_each_number(world: World) -> None:
    """Every entry on the card says what the service says about police before its contact."""
    await world.admin.slash(
        world.general,
        "setup resources add",
        name="Harbour Peer Line",
        contact="0800 000 000",
        police="only-in-stated-cases",
        police_cases="if you ask them to",
    )
    # An entry stored before the police choice was asked: the column default applies.
    await world.db.execute(
        "INSERT INTO guild_resources (guild_id, name, contact, confidentiality, added_at)"
        " VALUES (?, 'Old Line', '0800 111 111', 'Not stated.', '2026-01-01')",
        (world.guild.id,),
    )
    shown = await world.alice.slash(world.general, "resources")
    text = shown.response.embeds[0].description
    assert "none of them is an emergency service" in text
    assert "911 sends police as well as medical help" in text
    entries = text.split("\n\n")[1:]
    contacts = ["0800 000 000", "0800 111 111", *(r.contact for r in world.bot.library.resources)]
    assert len(entries) == len(contacts)
    for entry, contact in zip(entries, contacts, strict=True):
        assert entry.index("*Police:*") < entry.index(contact), entry
    assert "only: if you ask them to" in entries[0]
    assert "Does not say whether it contacts police" in entries[1]
    hotline = next(e for e in entries if "Trafficking Hotline" in e)
    assert "May share what you say with police." in hotline
    assert "Polaris" not in hotline.split("\n")[0]
    listed = await world.admin.slash(world.general, "setup resources list")
    assert "Does not say whether it contacts police" in listed.response.content


async def test_stated_cases_without_cases_is_refused(world: World) -> None:
    """Choosing "only in stated cases" without saying which is refused and stores nothing."""
    result = await world.admin.slash(
        world.general,
        "setup resources add",
        name="Harbour Peer Line",
        contact="0800 000 000",
        police="only-in-stated-cases",
    )
    assert result.ephemeral and "in which cases" in result.response.content
    assert await world.db.fetchval("SELECT count(*) FROM guild_resources") == 0


@pytest.mark.parametrize(
    ("options", "field"),
    [({"name": " ", "contact": "123"}, "name"), ({"name": "X", "contact": " "}, "contact")],
)
async def test_resource_without_name_or_contact_is_refused(
    world: World, options: dict[str, str], field: str
) -> None:
    """A server resource missing its name or contact is refused with the field named."""
    result = await world.admin.slash(
        world.general, "setup resources add", police="not-stated", **options
    )
    assert result.ephemeral
    assert field in result.response.content
    assert await world.db.fetchval("SELECT count(*) FROM guild_resources") == 0


async def test_privacy_shows_this_servers_retention(world: World) -> None:
    """/privacy states the retention value this server really uses, and the unmasking limits."""
    await world.admin.slash(world.general, "setup retention", days=45)
    result = await world.alice.slash(world.general, "privacy")
    assert result.ephemeral
    embeds = result.response.embeds
    assert all(len(e.description or "") <= 4096 for e in embeds)
    assert sum(len(e.description or "") + len(e.title or "") for e in embeds) <= 6000
    text = "\n\n".join(e.description or "" for e in embeds)
    assert "**45 days**" in text
    assert "not moderators, not other members" in text
    assert "strict" in text
    assert "Manage Threads" in text
    assert "per circle" in text


# --- my data -----------------------------------------------------------------------------


async def test_export_is_a_json_file_with_my_circles(world: World) -> None:
    """/mydata export sends a .json file holding the member's circles and posts."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    result = await world.alice.slash(world.general, "mydata export")
    assert result.ephemeral
    attachment = result.response.attachments[0]
    assert attachment.filename.endswith(".json")
    data = json.loads(await attachment.read())
    assert [m["circle"] for m in data["memberships"]] == ["Tuesday circle"]
    assert data["anonymous_posts"][0]["status"] == "posted"
    assert data["user_id"] == world.alice.id


async def test_export_with_no_data_says_so(world: World) -> None:
    """A member the bot knows nothing about is told so."""
    result = await world.carol.slash(world.general, "mydata export")
    assert "holds nothing linked to you" in result.response.content


async def test_delete_leaves_no_row_with_my_id(world: World) -> None:
    """After /mydata delete, no column of any table holds the member's id; the anonymous
    posts stay until the member removes them, and the answer says how."""
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread)
    await world.mod.slash(thread, "circle keeper add", member=world.alice)
    await modlog.record(
        world.db,
        guild_id=world.guild.id,
        moderator_id=world.mod.id,
        action="warn",
        target_user_id=world.alice.id,
        details="be kind",
        now=NOW,
    )
    asked = await world.alice.slash(world.general, "mydata delete")
    assert asked.ephemeral
    done = await world.alice.click(asked.response.message, label="Delete my data")
    final = done.followups[-1] if done.followups else done.response
    assert "no longer holds your id" in final.content
    assert "not linked to your account" in final.content
    assert "`/anon delete circle:<name>`" in final.content
    assert "**Tuesday circle** (1)" in final.content
    for table, column in await user_id_columns(world.db):
        assert (
            await world.db.fetchval(
                f"SELECT count(*) FROM {table} WHERE {column} = ?", (world.alice.id,)
            )
            == 0
        ), f"{table}.{column}"
    assert len(anonymous_posts(thread)) == 1
    picker = await world.alice.slash(world.general, "anon delete", circle="Tuesday circle")
    removed = await world.alice.select(picker.response.message, values=["all"])
    assert "Deleted 1" in removed.response.content
    assert anonymous_posts(thread) == []
    kept = await world.db.fetchone("SELECT details FROM mod_log WHERE action = 'warn'")
    assert kept["details"] == "be kind"


async def test_every_user_id_column_is_covered(db: Database) -> None:
    """Every column that can hold a user id is handled by the member data deletion."""
    assert await user_id_columns(db) == set(safety.USER_ID_COLUMNS)


async def test_delete_cancelled_or_timed_out_keeps_everything(world: World) -> None:
    """Keep it, or no answer, deletes nothing."""
    await circle_with_members(world)
    asked = await world.alice.slash(world.general, "mydata delete")
    kept = await world.alice.click(asked.response.message, label="Keep it")
    assert kept.response.content == "Nothing was deleted."
    again = await world.alice.slash(world.general, "mydata delete")
    await world.env.advance_time(200)
    assert "timed out" in again.response.content
    count = await world.db.fetchval(
        "SELECT count(*) FROM memberships WHERE user_id = ?", (world.alice.id,)
    )
    assert count == 1


# --- retention ---------------------------------------------------------------------------


async def test_retention_removes_exactly_what_expired(world: World) -> None:
    """The retention pass deletes old mod-log rows and decided post records, nothing newer,
    and keeps doing so after a restart."""
    await world.configure()
    await world.admin.slash(world.general, "setup retention", days=1)
    thread, _ = await circle_with_members(world, review=True)
    await post(world.alice, thread)
    held = world.queue.last_message
    await world.mod.click(held, label="Reject")
    rows_before = await world.db.fetchval("SELECT count(*) FROM mod_log")
    assert rows_before > 0
    await world.env.advance_time(60 * 60 * 12)
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts") == 1
    await world.restart()
    await world.admin.slash(world.general, "setup show")
    await world.env.advance_time(60 * 60 * 25)
    assert await world.db.fetchval("SELECT count(*) FROM anon_posts") == 0
    remaining = await world.db.fetchall("SELECT created_at FROM mod_log")
    cutoff = world.env.now() - timedelta(days=1)
    assert all(datetime.fromisoformat(r["created_at"]) >= cutoff for r in remaining)


async def test_retention_keeps_published_posts(db: Database) -> None:
    """Published anonymous posts outlive the retention window (they go when the circle closes)."""
    await db.execute(
        "INSERT INTO circles (guild_id, channel_id, thread_id, name, deck_id, private, review,"
        " strict, salt, created_at) VALUES (1, 2, 3, 'c', 'essay', 1, 0, 0, x'00', ?)",
        (NOW.isoformat(),),
    )
    for status in ("posted", "removed"):
        await db.execute(
            "INSERT INTO anon_posts (token, circle_id, label, label_key, status, created_at)"
            " VALUES (?, 1, 'Quiet Heron', x'01', ?, ?)",
            (status, status, NOW.isoformat()),
        )
    expired = await safety.purge_expired_records(db, 1, 30, now=NOW + timedelta(days=31))
    assert expired.rows == 1
    assert await db.fetchval("SELECT status FROM anon_posts") == "posted"


# --- backups -----------------------------------------------------------------------------


async def test_backup_is_consistent_while_the_bot_writes(tmp_path: Path) -> None:
    """A backup taken while rows are being written opens and holds a consistent set of rows."""
    live = tmp_path / "live.db"
    db = await Database.open(live)
    try:
        for i in range(200):
            await db.execute("INSERT INTO guild_config (guild_id) VALUES (?)", (i,))

        async def keep_writing() -> None:
            for i in range(200, 400):
                await db.execute("INSERT INTO guild_config (guild_id) VALUES (?)", (i,))
                await asyncio.sleep(0)

        writer = asyncio.create_task(keep_writing())
        target = await asyncio.to_thread(safety.backup_database, live, tmp_path / "b" / "copy.db")
        await writer
    finally:
        await db.close()
    conn = sqlite3.connect(target)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [r[0] for r in conn.execute("SELECT guild_id FROM guild_config ORDER BY guild_id")]
        assert 200 <= len(ids) <= 400
        assert ids == list(range(len(ids)))
    finally:
        conn.close()


def test_backup_to_unwritable_path_is_refused(tmp_path: Path) -> None:
    """A backup path that cannot be written gets a clear message; the live file is untouched."""
    live = tmp_path / "live.db"
    sqlite3.connect(live).close()
    before = live.read_bytes()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(safety.BackupError, match="Cannot"):
        safety.backup_database(live, blocker / "copy.db")
    assert live.read_bytes() == before


def test_backup_command_reminds_about_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m bot backup path` copies the database and says how to keep the secret."""
    from bot import __main__ as entry

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    (tmp_path / "data").mkdir()
    conn = sqlite3.connect(tmp_path / "data" / "circlekeeper.db")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    assert entry.main(["backup", str(tmp_path / "copy.db")]) == 0
    out = capsys.readouterr().out
    assert "secret" in out and "apart" in out
    assert safety.table_counts(tmp_path / "copy.db", ["t"]) == {"t": 1}


async def test_delete_stays_within_the_server(db: Database) -> None:
    """Deleting data in one server leaves the member's rows in another server alone, and a
    member known only from the mod log still counts as having data."""
    from bot.services import circles as circle_service

    ids = []
    for guild_id in (1, 2):
        circle = await circle_service.create_circle(
            db,
            guild_id=guild_id,
            channel_id=10 + guild_id,
            name="c",
            deck_id="essay",
            keeper_id=99,
            default_agreements=[],
            now=NOW,
        )
        await circle_service.accept_agreements(db, circle.id, 7, member_key=b"k7", now=NOW)
        await modlog.record(
            db, guild_id=guild_id, moderator_id=99, action="warn", target_user_id=7, now=NOW
        )
        ids.append(circle.id)
    only_logged = await safety.collect_member_data(db, 3, 8, {})
    assert only_logged.is_empty()
    await modlog.record(db, guild_id=3, moderator_id=99, action="warn", target_user_id=8, now=NOW)
    assert not (await safety.collect_member_data(db, 3, 8, {})).is_empty()

    await safety.delete_member_data(db, 1, 7)
    assert await circle_service.membership(db, ids[0], 7) is None
    assert await circle_service.membership(db, ids[1], 7) is not None
    remaining = await db.fetchall("SELECT guild_id FROM mod_log WHERE target_user_id = 7")
    assert [r["guild_id"] for r in remaining] == [2]


async def test_removed_member_stays_barred_after_deleting_their_data(world: World) -> None:
    """Deleting one's data removes the id everywhere but does not lift a keeper's removal."""
    from tests.test_circles import join, open_circle

    thread, card = await open_circle(world)
    await join(world, world.alice, card)
    await world.mod.slash(thread, "circle remove", member=world.alice, reason="outing")
    exported = await world.alice.slash(world.general, "mydata export")
    data = json.loads(await exported.response.attachments[0].read())
    assert data["removed_from"] == ["Tuesday circle"]
    asked = await world.alice.slash(world.general, "mydata delete")
    await world.alice.click(asked.response.message, label="Delete my data")
    for table, column in await user_id_columns(world.db):
        assert not await world.db.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column} = ?", (world.alice.id,)
        ), f"{table}.{column}"
    again = await world.alice.click(card, label="Join")
    assert "removed you" in again.response.content
