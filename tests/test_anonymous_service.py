"""Anonymous posting service: labels, text checks, the queue, review, blocks, and that no
author id is ever stored."""

from __future__ import annotations

import asyncio
import random
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.db import Database
from bot.services import anonymous as anon
from bot.services import circles as circle_service
from bot.services import contact as contact_service
from bot.services import structure as structure_service
from bot.services.circles import Circle, attach_thread, close_circle, create_circle, get_circle
from bot.services.wordlists import ADJECTIVES, NOUNS

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECRET = bytes.fromhex("5e" * 32)
AUTHOR = 734_918_205_117_440_019
OTHER = 611_203_845_990_127_733

_threads = iter(range(5000, 10_000))


async def make_circle(
    db: Database, name: str = "x", *, review: bool = False, strict: bool = False
) -> Circle:
    circle = await create_circle(
        db,
        guild_id=1,
        channel_id=2,
        name=name,
        deck_id="essay",
        keeper_id=99,
        default_agreements=[],
        now=NOW,
        review=review,
        strict=strict,
    )
    return await attach_thread(db, circle.id, thread_id=next(_threads), card_message_id=None)


async def post(
    db: Database,
    circle: Circle,
    key: bytes,
    *,
    text: str = "Something I want to say.",
    now: datetime = NOW,
    delay: int = 0,
    rng: random.Random | None = None,
    reply_to: int | None = None,
) -> anon.AnonPost:
    return await anon.submit(
        db,
        circle,
        key,
        text=text,
        content_note=None,
        reply_to_message_id=reply_to,
        quote_link=None,
        now=now,
        delay_max_seconds=delay,
        rng=rng,
    )


async def draft(db: Database, circle: Circle, key: bytes, *, now: datetime = NOW) -> anon.AnonPost:
    return await anon.save_draft(
        db,
        circle,
        key,
        text="Text me on 555-123-4567",
        content_note="phone",
        reply_to_message_id=None,
        quote_link=None,
        now=now,
    )


async def count(db: Database, table: str, circle_id: int) -> int:
    return int(await db.fetchval(f"SELECT count(*) FROM {table} WHERE circle_id = ?", (circle_id,)))


# --- keys and labels -----------------------------------------------------------------------


async def test_label_stable_within_circle_and_different_across_circles(db: Database) -> None:
    """A member keeps one label in a circle, and their keys in two circles cannot be linked."""
    keys = anon.CircleKeys(SECRET)
    first, second = await make_circle(db, "first"), await make_circle(db, "second")
    key_a = keys.label_key(first, AUTHOR)
    assert keys.label_key(first, AUTHOR) == key_a
    assert len(key_a) == 32
    label = await anon.label_for(db, first.id, key_a)
    assert await anon.label_for(db, first.id, keys.label_key(first, AUTHOR)) == label
    adjective, noun = label.split(" ")
    assert adjective in ADJECTIVES and noun in NOUNS
    assert keys.label_key(second, AUTHOR) != key_a
    assert keys.label_key(first, OTHER) != key_a


async def test_label_key_needs_the_master_secret(db: Database) -> None:
    """Someone holding only the database (salt and all) cannot recompute a label key."""
    circle = await make_circle(db)
    own = anon.CircleKeys(SECRET).label_key(circle, AUTHOR)
    guessed = anon.CircleKeys(b"\x00" * 32).label_key(circle, AUTHOR)
    assert guessed != own


async def test_strict_circle_key_lives_in_memory_only(db: Database) -> None:
    """A strict circle's labels survive within one process but start afresh after a restart."""
    circle = await make_circle(db, strict=True)
    keys = anon.CircleKeys(SECRET)
    key = keys.label_key(circle, AUTHOR)
    assert keys.label_key(circle, AUTHOR) == key
    assert anon.CircleKeys(SECRET).label_key(circle, AUTHOR) != key
    keys.forget(circle.id)
    assert keys.label_key(circle, AUTHOR) != key
    assert "5e5e" not in repr(keys)


async def test_closed_circle_has_no_keys_and_takes_no_posts(db: Database) -> None:
    """Once closed, a circle's keys cannot be computed and a stale circle object posts nothing."""
    keys = anon.CircleKeys(SECRET)
    circle = await make_circle(db)
    key = keys.label_key(circle, AUTHOR)
    closed = await close_circle(db, circle.id, now=NOW)
    with pytest.raises(anon.CircleClosed):
        keys.circle_key(closed)
    with pytest.raises(anon.CircleClosed):
        keys.label_key(closed, AUTHOR)
    with pytest.raises(anon.CircleClosed):
        await post(db, circle, key)


@settings(max_examples=10, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=2**63 - 1), min_size=200, max_size=200, unique=True)
)
def test_members_of_one_circle_never_share_a_label(user_ids: list[int]) -> None:
    """However many members post in one circle, no two of them ever get the same label."""

    async def run(path: Path) -> list[str]:
        db = await Database.open(path)
        try:
            circle = await make_circle(db)
            keys = anon.CircleKeys(SECRET)
            labels = [
                await anon.label_for(db, circle.id, keys.label_key(circle, user_id))
                for user_id in user_ids
            ]
            again = [
                await anon.label_for(db, circle.id, keys.label_key(circle, user_id))
                for user_id in user_ids
            ]
            assert again == labels
            return labels
        finally:
            await db.close()

    with tempfile.TemporaryDirectory() as folder:
        labels = asyncio.run(run(Path(folder) / "labels.db"))
    assert len(set(labels)) == len(user_ids)


async def test_label_gets_a_number_when_every_combination_is_taken(db: Database) -> None:
    """Even with every word combination used, a new member still gets a label of their own."""
    circle = await make_circle(db)
    await db.executemany(
        "INSERT INTO anon_labels (circle_id, label_key, label) VALUES (?, ?, ?)",
        [
            (circle.id, i.to_bytes(32, "big"), f"{adjective} {noun}")
            for i, (adjective, noun) in enumerate(
                (adjective, noun) for adjective in ADJECTIVES for noun in NOUNS
            )
        ],
    )
    key = anon.CircleKeys(SECRET).label_key(circle, AUTHOR)
    label = await anon.label_for(db, circle.id, key)
    name, _, number = label.rpartition(" ")
    assert name in set(anon.label_candidates(key))
    assert 2 <= int(number) <= 999
    assert await anon.label_for(db, circle.id, key) == label
    other = anon.CircleKeys(SECRET).label_key(circle, AUTHOR + 1)
    assert await anon.label_for(db, circle.id, other) != label


# --- text checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("a" * (anon.MAX_TEXT + 1), f"{anon.MAX_TEXT + 1} characters long; the limit is 2000"),
        ("hello\u200bthere", "invisible characters"),
        ("hello \u202ethere", "invisible characters"),
        ("bell\x07 here", "invisible control characters"),
        ("<@123> <@!45>\n<@&6> <#7> @everyone @here", "only mentions"),
    ],
)
def test_clean_text_refuses_with_a_plain_reason(text: str, words: str) -> None:
    """Empty, too long, hidden-character and mention-only text is refused, saying why."""
    with pytest.raises(anon.InvalidText) as refused:
        anon.clean_text(text)
    assert words in refused.value.message


def test_clean_text_keeps_normal_multiline_text() -> None:
    """Ordinary text keeps its inner lines and tabs and loses only the outer whitespace."""
    text = "  First line,\r\nsecond line\twith a tab.\n\nThird <@123> line.  \n"
    assert anon.clean_text(text) == "First line,\nsecond line\twith a tab.\n\nThird <@123> line."


def test_content_note_has_its_own_limit() -> None:
    """A long content note is refused under its own name and limit."""
    with pytest.raises(anon.InvalidText) as refused:
        anon.clean_text("x" * 201, limit=anon.MAX_NOTE, what="The content note")
    assert refused.value.message.startswith("The content note is 201 characters long")


@pytest.mark.parametrize(
    ("text", "kind", "excerpt"),
    [
        ("call me on +1 (555) 123-4567 tonight", "phone number", "+1 (555) 123-4567"),
        ("write to jo.doe@example.org", "email address", "jo.doe@example.org"),
        ("it's on https://example.com/me).", "link", "https://example.com/me"),
        ("look at www.example.net", "link", "www.example.net"),
        ("my page: example.com", "link", "example.com"),
        ("join discord.gg/abc123 if you like", "Discord invite", "discord.gg/abc123"),
        (
            "https://discord.com/invite/abc123",
            "Discord invite",
            "https://discord.com/invite/abc123",
        ),
        ("find me, I'm @someone_else.", "handle", "@someone_else"),
        ("I was at 221b Baker St. then", "street address", "221b Baker St"),
        ("near 12 north main avenue", "street address", "12 north main avenue"),
        ("ask <@123456789012345678>", "mention", "<@123456789012345678>"),
        ("the <#42> channel", "mention", "<#42>"),
    ],
)
def test_find_identifying_details_finds_each_kind(text: str, kind: str, excerpt: str) -> None:
    """Each kind of identifying detail is found and named in plain words."""
    assert anon.find_identifying_details(text) == [anon.Finding(kind, excerpt)]


@pytest.mark.parametrize(
    "text",
    [
        "In 2019 I worked 5:30 shifts, 40% of the time",
        "From 2016-2021, on 2019-05-30 and 30.05.2019, I paid $1,500 and 1.500.000 lira",
        "I was 19 and on the street; it's a 10 minute drive; 3 years in court.",
        "e.g. this, i.e. that. It took 3.5 hours. Tell @everyone and @here, meet @5pm.",
    ],
)
def test_find_identifying_details_leaves_ordinary_text_alone(text: str) -> None:
    """Years, times, percentages, dates, amounts and plain sentences raise no alarm."""
    assert anon.find_identifying_details(text) == []


def test_findings_are_short_and_not_repeated() -> None:
    """A detail written twice is reported once, and long matches are shortened."""
    long_link = "https://example.com/" + "a" * 80
    findings = anon.find_identifying_details(f"555-123-4567, again 555-123-4567, {long_link}")
    assert [f.kind for f in findings] == ["phone number", "link"]
    assert all(len(f.excerpt) <= anon.EXCERPT_CHARS for f in findings)


# --- submitting and the queue --------------------------------------------------------------


async def test_submit_queues_at_once_without_delay(db: Database) -> None:
    """With no delay, a post is queued due now, with its label, text and note."""
    circle = await make_circle(db)
    key = anon.CircleKeys(SECRET).label_key(circle, AUTHOR)
    stored = await anon.submit(
        db,
        circle,
        key,
        text="  Hello,\nall.  ",
        content_note="  grief ",
        reply_to_message_id=77,
        quote_link=None,
        now=NOW,
        delay_max_seconds=0,
    )
    assert stored.status == "queued"
    assert stored.deliver_at == NOW
    assert (stored.text, stored.content_note) == ("Hello,\nall.", "grief")
    assert stored.reply_to_message_id == 77
    assert stored.label == await anon.label_for(db, circle.id, key)
    assert await anon.get_post(db, stored.token) == stored


async def test_random_delay_never_reorders_posts(db: Database) -> None:
    """A random delay never lets a later post in a circle go out before an earlier one."""
    circle = await make_circle(db)
    keys = anon.CircleKeys(SECRET)
    rng = random.Random(4)
    first = await post(db, circle, keys.label_key(circle, AUTHOR), delay=600, rng=rng)
    second = await post(
        db,
        circle,
        keys.label_key(circle, OTHER),
        now=NOW + timedelta(seconds=1),
        delay=600,
        rng=rng,
    )
    assert first.deliver_at is not None and second.deliver_at is not None
    assert NOW <= first.deliver_at <= NOW + timedelta(seconds=600)
    assert second.deliver_at >= first.deliver_at
    assert await anon.due_posts(db, now=NOW + timedelta(seconds=601)) == [first, second]


async def test_rate_limit_after_five_posts(db: Database) -> None:
    """A sixth post within ten minutes is refused, saying when to try again; drafts don't count."""
    circle = await make_circle(db)
    keys = anon.CircleKeys(SECRET)
    key = keys.label_key(circle, AUTHOR)
    await draft(db, circle, key)
    for minute in range(anon.RATE_LIMIT):
        await post(db, circle, key, now=NOW + timedelta(minutes=minute))
    later = NOW + timedelta(minutes=6)
    with pytest.raises(anon.RateLimited) as limited:
        await post(db, circle, key, now=later)
    assert limited.value.retry_at == NOW + anon.RATE_WINDOW
    assert limited.value.message == "You can post again in 4 minutes."
    await post(db, circle, keys.label_key(circle, OTHER), now=later)
    await post(db, circle, key, now=NOW + anon.RATE_WINDOW + timedelta(seconds=1))


async def test_block_refuses_that_key_only_until_it_expires(db: Database) -> None:
    """A blocked author is refused neutrally, others are not, and the block ends on time."""
    circle = await make_circle(db)
    keys = anon.CircleKeys(SECRET)
    key = keys.label_key(circle, AUTHOR)
    label = await anon.label_for(db, circle.id, key)
    until = NOW + timedelta(hours=1)
    block_id = await anon.block(db, circle.id, key, label, reason="spam", now=NOW, expires_at=until)
    with pytest.raises(anon.Blocked) as refused:
        await post(db, circle, key)
    assert "blocked" not in refused.value.message.lower()
    await post(db, circle, keys.label_key(circle, OTHER))
    with pytest.raises(anon.AnonError, match="already blocked"):
        await anon.block(db, circle.id, key, label, reason="again", now=NOW, expires_at=None)
    [active] = await anon.blocks(db, [circle.id], now=NOW)
    assert (active.id, active.label, active.reason) == (block_id, label, "spam")

    await post(db, circle, key, now=until)
    assert await anon.blocks(db, [circle.id], now=until) == []
    assert await anon.purge_expired(db, now=until) == 1
    again = await anon.block(db, circle.id, key, label, reason="", now=until, expires_at=None)
    assert not await anon.unblock(db, again, [circle.id + 1])
    assert await anon.unblock(db, again, [circle.id])
    await post(db, circle, key, now=until + timedelta(seconds=1))


async def test_review_approve_and_reject(db: Database) -> None:
    """Held posts wait for one decision: approval queues them, rejection drops their text."""
    circle = await make_circle(db, review=True)
    keys = anon.CircleKeys(SECRET)
    held = await post(db, circle, keys.label_key(circle, AUTHOR), text="first")
    other = await post(db, circle, keys.label_key(circle, OTHER), text="second")
    # With no delay, both are due in the moderators' queue at once, and listed once there.
    assert (held.status, held.deliver_at) == ("review", NOW)
    assert await anon.due_reviews(db, now=NOW) == [held, other]
    assert await anon.pending_reviews(db, [circle.id]) == []
    assert await anon.mark_announced(db, held.id, 555)
    assert await anon.mark_announced(db, other.id, None)
    assert not await anon.mark_announced(db, other.id, None)
    assert await anon.due_reviews(db, now=NOW) == []
    held, other = [p for p in await anon.pending_reviews(db, [circle.id])]
    assert (held.deliver_at, held.review_message_id, other.review_message_id) == (None, 555, None)

    later = NOW + timedelta(minutes=3)
    approved = await anon.approve(db, held.token, now=later)
    assert (approved.status, approved.deliver_at, approved.text) == ("queued", later, "first")
    assert approved.review_message_id == 555
    with pytest.raises(anon.NotFound):
        await anon.reject(db, held.token, now=later)

    rejected = await anon.reject(db, other.token, now=later)
    assert (rejected.status, rejected.text, rejected.decided_at) == ("rejected", None, later)
    with pytest.raises(anon.NotFound):
        await anon.approve(db, other.token, now=later)
    assert await anon.pending_reviews(db, [circle.id]) == []


async def test_held_post_waits_before_the_queue_and_after_approval(db: Database) -> None:
    """A held post reaches the moderators after its own random wait, and an approved one
    goes out after another, so neither moment is the moment of writing or of approving."""
    circle = await make_circle(db, review=True)
    key = anon.CircleKeys(SECRET).label_key(circle, AUTHOR)
    held = await post(db, circle, key, delay=120, rng=random.Random(3))
    assert held.deliver_at is not None and NOW < held.deliver_at <= NOW + timedelta(minutes=2)
    assert await anon.due_reviews(db, now=NOW) == []
    assert await anon.next_delivery_at(db) == held.deliver_at
    assert [p.id for p in await anon.due_reviews(db, now=held.deliver_at)] == [held.id]
    assert await anon.mark_announced(db, held.id, 77)

    later = NOW + timedelta(minutes=10)
    approved = await anon.approve(
        db, held.token, now=later, delay_max_seconds=120, rng=random.Random(4)
    )
    assert approved.deliver_at is not None
    assert later < approved.deliver_at <= later + timedelta(minutes=2)
    assert await anon.due_posts(db, now=later) == []


async def test_delivery_drops_text(db: Database) -> None:
    """Once posted, the text is gone and the post is found by its Discord message."""
    circle = await make_circle(db)
    queued = await post(db, circle, anon.CircleKeys(SECRET).label_key(circle, AUTHOR))
    assert await anon.mark_sending(db, queued.id)
    assert not await anon.mark_sending(db, queued.id)
    assert [p.status for p in await anon.due_posts(db, now=NOW)] == ["sending"]
    assert await anon.mark_posted(db, queued.id, 9001, now=NOW)
    assert not await anon.mark_posted(db, queued.id, 9002, now=NOW)
    posted = await anon.post_for_message(db, 9001)
    assert posted is not None
    assert (posted.status, posted.text, posted.content_note) == ("posted", None, None)
    assert await anon.due_posts(db, now=NOW) == []


async def test_failed_delivery_retries_later_in_order(db: Database) -> None:
    """A post Discord refused for now waits, and later posts of its circle wait behind it."""
    circle = await make_circle(db)
    keys = anon.CircleKeys(SECRET)
    first = await post(db, circle, keys.label_key(circle, AUTHOR))
    second = await post(db, circle, keys.label_key(circle, OTHER))
    await anon.mark_sending(db, first.id)
    retry = NOW + timedelta(seconds=30)
    assert await anon.mark_failed(db, first.id, retry_at=retry)
    assert await anon.due_posts(db, now=NOW) == []
    assert [p.id for p in await anon.due_posts(db, now=retry)] == [first.id, second.id]
    assert await anon.mark_undeliverable(db, first.id, now=retry)
    gone = await anon.get_post(db, first.token)
    assert gone is not None and (gone.status, gone.text) == ("rejected", None)


async def test_draft_expires_or_becomes_the_post(db: Database) -> None:
    """A held draft can be confirmed into a post with the same token, or lapses unconfirmed."""
    circle = await make_circle(db)
    key = anon.CircleKeys(SECRET).label_key(circle, AUTHOR)
    held = await draft(db, circle, key)
    assert held.status == "draft"
    assert await anon.get_draft(db, held.token, now=NOW + timedelta(minutes=14)) == held
    assert await anon.get_draft(db, held.token, now=NOW + anon.DRAFT_TTL) is None

    confirmed_at = NOW + timedelta(minutes=2)
    sent = await anon.submit(
        db,
        circle,
        key,
        text=held.text or "",
        content_note=held.content_note,
        reply_to_message_id=None,
        quote_link=None,
        now=confirmed_at,
        delay_max_seconds=0,
        draft_token=held.token,
    )
    assert (sent.token, sent.id, sent.status, sent.deliver_at) == (
        held.token,
        held.id,
        "queued",
        confirmed_at,
    )
    assert await anon.get_draft(db, held.token, now=confirmed_at) is None

    stale = await draft(db, circle, key)
    assert await anon.purge_expired(db, now=NOW + anon.DRAFT_TTL) == 1
    assert await anon.get_post(db, stale.token) is None
    assert not await anon.discard_draft(db, stale.token)


# --- the author's own posts and moderation -------------------------------------------------


async def test_posts_by_finds_only_that_authors_posts(db: Database) -> None:
    """An author's list holds their own posts, newest first, and never someone else's."""
    circle = await make_circle(db)
    keys = anon.CircleKeys(SECRET)
    key = keys.label_key(circle, AUTHOR)
    older = await post(db, circle, key, text="one")
    await post(db, circle, keys.label_key(circle, OTHER), text="theirs")
    newer = await post(db, circle, key, text="two", now=NOW + timedelta(minutes=1))
    await draft(db, circle, key)
    assert [p.id for p in await anon.posts_by(db, circle.id, key)] == [newer.id, older.id]


async def test_delete_own_refuses_someone_elses_post(db: Database) -> None:
    """Only the author's own key can delete a post; deleting returns what it was."""
    circle = await make_circle(db)
    keys = anon.CircleKeys(SECRET)
    key, other_key = keys.label_key(circle, AUTHOR), keys.label_key(circle, OTHER)
    theirs = await post(db, circle, other_key)
    with pytest.raises(anon.NotFound):
        await anon.delete_own(db, circle.id, key, theirs.token)
    assert await anon.get_post(db, theirs.token) is not None

    await anon.mark_posted(db, theirs.id, 4242, now=NOW)
    deleted = await anon.delete_own(db, circle.id, other_key, theirs.token)
    assert deleted.message_id == 4242
    assert await anon.get_post(db, theirs.token) is None


async def test_removed_post_keeps_label_but_not_text(db: Database) -> None:
    """A removed post loses its text but keeps the label and key so its author can be blocked."""
    circle = await make_circle(db)
    key = anon.CircleKeys(SECRET).label_key(circle, AUTHOR)
    stored = await post(db, circle, key)
    await anon.mark_posted(db, stored.id, 31, now=NOW)
    assert await anon.mark_removed(db, stored.id, now=NOW)
    assert not await anon.mark_removed(db, stored.id, now=NOW)
    removed = await anon.get_post(db, stored.token)
    assert removed is not None
    assert (removed.status, removed.text, removed.label, removed.label_key) == (
        "removed",
        None,
        stored.label,
        key,
    )
    assert [p.status for p in await anon.posts_by(db, circle.id, key)] == ["removed"]


async def test_closing_a_circle_leaves_no_anonymous_records(db: Database) -> None:
    """Closing a circle deletes its posts, labels and blocks."""
    circle = await make_circle(db, review=True)
    keys = anon.CircleKeys(SECRET)
    key = keys.label_key(circle, AUTHOR)
    await post(db, circle, key)
    await draft(db, circle, key)
    await anon.block(
        db,
        circle.id,
        keys.label_key(circle, OTHER),
        "Calm Heron",
        reason="",
        now=NOW,
        expires_at=None,
    )
    await close_circle(db, circle.id, now=NOW)
    for table in ("anon_posts", "anon_labels", "anon_blocks"):
        assert await count(db, table, circle.id) == 0
    closed = await get_circle(db, circle.id)
    assert closed is not None and closed.salt is None


async def test_no_table_ever_holds_the_author_id(db: Database) -> None:
    """After drafting, posting, review and blocking, the author's id is in no column anywhere."""
    keys = anon.CircleKeys(SECRET)
    plain, reviewed = await make_circle(db, "plain"), await make_circle(db, "reviewed", review=True)
    key = keys.label_key(plain, AUTHOR)
    held = await draft(db, plain, key)
    await anon.submit(
        db,
        plain,
        key,
        text="confirmed",
        content_note=None,
        reply_to_message_id=None,
        quote_link=None,
        now=NOW,
        delay_max_seconds=0,
        draft_token=held.token,
    )
    sent = await post(db, plain, key)
    await anon.mark_sending(db, sent.id)
    await anon.mark_posted(db, sent.id, 123, now=NOW)
    review_key = keys.label_key(reviewed, AUTHOR)
    waiting = await post(db, reviewed, review_key)
    await anon.approve(db, waiting.token, now=NOW)
    label = await anon.label_for(db, reviewed.id, review_key)
    await anon.block(db, reviewed.id, review_key, label, reason="", now=NOW, expires_at=None)

    as_text, as_bytes = str(AUTHOR), str(AUTHOR).encode()
    tables = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    checked = 0
    for table in (r["name"] for r in tables):
        columns = await db.fetchall("SELECT name FROM pragma_table_info(?)", (table,))
        for column in (c["name"] for c in columns):
            for (value,) in await db.fetchall(f'SELECT "{column}" FROM "{table}"'):
                checked += 1
                assert value != AUTHOR, (table, column)
                if isinstance(value, str):
                    assert as_text not in value, (table, column)
                if isinstance(value, bytes):
                    assert as_bytes not in value, (table, column)
    assert checked > 0


async def test_blocking_from_the_queue_blocks_and_rejects_together(db: Database) -> None:
    """Block author rejects the post in the same moment, so it can no longer be approved;
    when another moderator decided first, the author is blocked all the same."""
    circle = await make_circle(db, review=True)
    keys = anon.CircleKeys(SECRET)
    held = await post(db, circle, keys.label_key(circle, AUTHOR), text="first")
    other = await post(db, circle, keys.label_key(circle, OTHER), text="second")

    done = await anon.decide_held(
        db, held.token, "block", now=NOW, delay_max_seconds=0, block_reason="from the queue"
    )
    assert done.decided and done.block_id is not None
    assert (done.post.status, done.post.text) == ("rejected", None)
    with pytest.raises(anon.NotFound):
        await anon.decide_held(
            db, held.token, "approve", now=NOW, delay_max_seconds=0, block_reason=""
        )
    assert [b.id for b in await anon.blocks(db, [circle.id], now=NOW)] == [done.block_id]

    await anon.decide_held(
        db, other.token, "approve", now=NOW, delay_max_seconds=0, block_reason=""
    )
    late = await anon.decide_held(
        db, other.token, "block", now=NOW, delay_max_seconds=0, block_reason="from the queue"
    )
    assert not late.decided and late.post.status == "queued"
    assert len(await anon.blocks(db, [circle.id], now=NOW)) == 2
    # Blocking the same author again is refused, and leaves the post as it was.
    with pytest.raises(anon.AnonError, match="already blocked"):
        await anon.decide_held(
            db, other.token, "block", now=NOW, delay_max_seconds=0, block_reason=""
        )


async def test_closing_ends_everything_in_one_go(db: Database) -> None:
    """Closing drops the anonymous rows, the round and the pause together, and hands back the
    held posts' queue messages so they can be taken down."""
    circle = await make_circle(db, review=True)
    keys = anon.CircleKeys(SECRET)
    held = await post(db, circle, keys.label_key(circle, AUTHOR), text="first")
    assert await anon.mark_announced(db, held.id, 777)
    await structure_service.start_round(
        db,
        circle.id,
        mode="named",
        member_ids=[AUTHOR, OTHER],
        prompt_id=None,
        turn_minutes=3,
        now=NOW,
    )
    await structure_service.schedule_pause(db, circle.id, minutes=5, now=NOW)

    closing = await circle_service.close(db, circle.id, now=NOW)
    assert closing.review_message_ids == [777]
    assert not closing.circle.is_open
    assert await structure_service.get_round(db, circle.id) is None
    assert await structure_service.get_pause(db, circle.id) is None
    assert await count(db, "anon_posts", circle.id) == 0


async def test_replies_to_an_author_s_posts_come_circle_by_circle_in_one_statement(
    db: Database,
) -> None:
    """Anonymous replies (oldest first), then members' Discord replies, for each circle in the
    order asked; the author's replies to their own posts and other authors' posts left out;
    one statement however many circles."""
    first, second = await make_circle(db, "first"), await make_circle(db, "second")
    mine, theirs = bytes.fromhex("a1" * 32), bytes.fromhex("b2" * 32)
    message_ids = iter(range(70_000, 80_000))

    async def posted(circle: Circle, key: bytes, reply_to: int | None = None) -> anon.AnonPost:
        made = await post(db, circle, key, reply_to=reply_to)
        message_id = next(message_ids)
        assert await anon.mark_posted(db, made.id, message_id, now=NOW)
        return await anon.get_post(db, made.token) or made

    in_second = await posted(second, mine)
    in_first = await posted(first, mine)
    someone_else_s = await posted(first, theirs)
    answer = await posted(first, theirs, reply_to=in_first.message_id)
    await posted(first, mine, reply_to=in_first.message_id)  # their own: not a reply to them
    await posted(first, mine, reply_to=someone_else_s.message_id)  # to another author
    later = await posted(first, theirs, reply_to=in_first.message_id)
    elsewhere = await posted(second, theirs, reply_to=in_second.message_id)
    assert await contact_service.record_reply(db, in_first.message_id, 90_001)
    assert await contact_service.record_reply(db, in_second.message_id, 90_002)

    statements: list[str] = []
    await db._call(lambda conn: conn.set_trace_callback(statements.append))
    try:
        found = await contact_service.replies_to_posts(db, [(second.id, mine), (first.id, mine)])
    finally:
        await db._call(lambda conn: conn.set_trace_callback(None))
    assert len(statements) == 1
    assert [(r.circle_id, r.message_id, r.replied_to, r.label) for r in found] == [
        (second.id, elsewhere.message_id, in_second.message_id, elsewhere.label),
        (second.id, 90_002, in_second.message_id, None),
        (first.id, answer.message_id, in_first.message_id, answer.label),
        (first.id, later.message_id, in_first.message_id, later.label),
        (first.id, 90_001, in_first.message_id, None),
    ]
    assert len({r.key for r in found}) == len(found)
    assert await contact_service.replies_to_posts(db, []) == []
