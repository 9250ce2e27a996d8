"""Offline rehearsal: the real bot, all its cogs, in a simulated Discord server.

Used when there is no DISCORD_TOKEN. `run_rehearsal` serves simcord's browser preview of a
seeded circle; `run_demo` plays a whole circle and prints what each person saw. Both use a
temporary database of their own, never the live one. Imported only in those cases, so the
live bot never imports simcord (installed with the `rehearsal` extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import discord
import simcord

from bot.client import CircleBot, create_bot
from bot.logs import quiet_third_party_loggers
from bot.services import config as config_service
from bot.services import structure
from bot.settings import Settings

log = logging.getLogger(__name__)

CIRCLE_NAME = "Rehearsal circle"
BOT_NAME = "Circlekeeper"
OverwriteTarget = (
    simcord.RoleHandle
    | simcord.MemberActor
    | simcord.UserHandle
    | discord.Role
    | discord.Member
    | discord.User
    | discord.ClientUser
)
# Half a second: a timed event shows on the page within about a second of falling due.
CLOCK_TICK_SECONDS = 0.5
# Anonymous posts wait up to this long here: enough to see that they wait, short enough to
# sit through (a real server's default is two minutes).
REHEARSAL_DELAY_SECONDS = 20

INTRO = """\
**Welcome to a Circlekeeper rehearsal.** Nothing here reaches Discord: this is the real bot in \
a simulated server, with a throwaway database. Switch viewers (top of the page) to see what the \
keeper (Kai), the members (River, Sam, Ash) and the moderator (Mo) each see; private replies \
show only to the person they were meant for.

Try `/prompt next`, `/anon post`, `/circle checkin` or `/circle round start`. The clock runs \
in real time, so turn timers, pauses and delayed posts fire as they would live.

What this page cannot show: message context menus ("Reply anonymously", "Report to \
moderators"), other channels (the moderators' queue, a circle made with `/circle create`) and \
direct messages. Run `make demo` to see those played through. Once this circle is closed, \
press Ctrl-C and `make run` again for a fresh rehearsal."""


@dataclass
class Stage:
    """The seeded simulated server."""

    env: simcord.Env
    bot: CircleBot
    guild: simcord.GuildHandle
    circles: simcord.ChannelHandle
    queue: simcord.ChannelHandle
    modlog: simcord.ChannelHandle
    keeper: simcord.MemberActor
    members: list[simcord.MemberActor]
    moderator: simcord.MemberActor
    thread: simcord.ChannelHandle

    @property
    def everyone(self) -> list[simcord.MemberActor]:
        return [self.keeper, *self.members, self.moderator]

    @property
    def people(self) -> dict[int, str]:
        return {person.id: display(person) for person in self.everyone}


def rehearsal_settings(folder: Path) -> Settings:
    """Settings for a throwaway database and a throwaway secret in `folder`."""
    return Settings.from_env(
        {
            "DATABASE_PATH": str(folder / "rehearsal.db"),
            "CIRCLEKEEPER_SECRET": secrets.token_hex(32),
            "SYNC_COMMANDS": "true",
        },
        base_dir=folder,
    )


@contextlib.asynccontextmanager
async def staged(*, open_circle: bool = True) -> AsyncIterator[Stage]:
    """Start the bot in a simulated server with a keeper, three members and a moderator.

    With `open_circle`, a public circle is open in #circles and everyone has agreed.
    Closes the bot and its database and removes the temporary folder on exit.
    """
    quiet_third_party_loggers()
    folder = Path(tempfile.mkdtemp(prefix="circlekeeper-rehearsal-"))
    bot = create_bot(rehearsal_settings(folder))
    env = simcord.Env(bot, check_errors=False)
    env.backend.edit_bot_profile(BOT_NAME)  # simcord calls its bot "TestBot"
    try:
        await env.start()
        stage = await _seed(env, bot, open_circle=open_circle)
        yield stage
    finally:
        with contextlib.suppress(Exception):
            await env.shutdown()
        await bot.close()
        shutil.rmtree(folder, ignore_errors=True)


async def _seed(env: simcord.Env, bot: CircleBot, *, open_circle: bool) -> Stage:
    guild = env.create_guild("Rehearsal server")
    everyone = guild.default_role
    moderators = guild.create_role(
        "Moderators", permissions=discord.Permissions(manage_threads=True, manage_messages=True)
    )
    keepers = guild.create_role("Keepers", permissions=discord.Permissions(manage_threads=True))
    me = guild.me
    assert me is not None
    staff_only: dict[OverwriteTarget, discord.PermissionOverwrite] = {
        everyone: discord.PermissionOverwrite(view_channel=False),
        moderators: discord.PermissionOverwrite(view_channel=True),
        me: discord.PermissionOverwrite(view_channel=True),
    }
    circles_channel = guild.create_text_channel("circles")
    queue = guild.create_text_channel("mod-queue", overwrites=staff_only)
    modlog = guild.create_text_channel("mod-log", overwrites=staff_only)
    keeper = guild.add_member(env.create_user("kai", global_name="Kai (keeper)"), roles=[keepers])
    members = [
        guild.add_member(env.create_user(name.lower(), global_name=name))
        for name in ("River", "Sam", "Ash")
    ]
    moderator = guild.add_member(
        env.create_user("mo", global_name="Mo (moderator)"), roles=[moderators]
    )
    await config_service.set_moderator_role(bot.db, guild.id, moderators.id)
    await config_service.set_channel(bot.db, guild.id, "queue", queue.id)
    await config_service.set_channel(bot.db, guild.id, "modlog", modlog.id)
    await config_service.set_delay(bot.db, guild.id, REHEARSAL_DELAY_SECONDS)
    thread = circles_channel
    if open_circle:
        await keeper.slash(circles_channel, "circle create", name=CIRCLE_NAME, private=False)
        thread = next(t for t in circles_channel.threads if t.name == CIRCLE_NAME)
        card = circles_channel.last_message
        assert card is not None
        for person in (*members, moderator):
            shown = await person.click(card, label="Join")
            assert shown.response is not None
            await person.click(shown.response.message, label="I agree")
        channel = bot.get_channel(thread.id)
        if isinstance(channel, discord.Thread):
            await channel.send(INTRO, allowed_mentions=discord.AllowedMentions.none())
            await env.settle()
    return Stage(
        env, bot, guild, circles_channel, queue, modlog, keeper, members, moderator, thread
    )


async def pump_clock(
    env: simcord.Env,
    preview: simcord.Preview | None = None,
    tick: float = CLOCK_TICK_SECONDS,
) -> None:
    """Advance the simulated clock with real time, so timers fire as they would live.

    The page shows only what was last published to it, so whenever the bot did something
    since the last publication (a pause ending, a turn timing out, a delayed post going out)
    every open page is republished, with no click needed.
    """
    loop = asyncio.get_running_loop()
    last = loop.time()
    published = len(env.http_requests)
    while True:
        await asyncio.sleep(tick)
        now = loop.time()
        try:
            # Catch up on ticks skipped while a person's action was in flight.
            await env.advance_time(now - last)
            last = now
        except simcord.SetupError:
            continue  # a person's action is in progress; catch up on the next tick
        except TimeoutError:
            last = now
            log.warning("The simulated clock fell behind; continuing")
        if preview is None or len(env.http_requests) == published:
            continue
        mark = len(env.http_requests)
        try:
            await preview.refresh()
        except simcord.SetupError:
            continue  # an action started meanwhile (or the page is closing): next tick
        published = mark


async def run_rehearsal(
    *,
    port: int | None = None,
    announce: bool = True,
    ready: Callable[[simcord.Preview], Awaitable[None]] | None = None,
) -> None:
    """Serve the browser preview until the page is closed or the process is interrupted.

    `ready` is awaited once the page is being served (tests use it to look at the page).
    """
    async with staged() as stage:
        preview = stage.env.preview(
            stage.thread, viewers=stage.everyone, layout="channel", port=port
        )
        async with preview:
            if announce:
                print("Offline rehearsal running. Open this address in a browser on this machine:")
                print(f"  {preview.url}")
                print(
                    "Anyone holding that address can drive the session; it works only from "
                    "this machine (127.0.0.1). Press Ctrl-C to stop."
                )
            clock = asyncio.create_task(pump_clock(stage.env, preview))
            try:
                if ready is not None:
                    await ready(preview)
                await preview.wait_closed()
            finally:
                clock.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await clock


# --- the demo ----------------------------------------------------------------------------


class DemoFailed(Exception):
    """A step of the demo did not do what it should."""


class Transcript:
    """What each person saw, step by step, printed as it happens."""

    def __init__(self, stage: Stage, out: Callable[[str], None] = print) -> None:
        self.stage = stage
        self.out = out
        self.steps = 0
        self._seen: dict[int, int] = {}

    def step(self, title: str) -> None:
        self.steps += 1
        self.out(f"\n== Step {self.steps}: {title}")

    def saw(self, who: simcord.MemberActor, what: str) -> None:
        self.out(f"   {display(who)} sees privately: {what}")

    def public(self, channel: simcord.ChannelHandle, viewer: simcord.MemberActor) -> list[str]:
        """New messages in `channel` since last looked, as `viewer` sees them."""
        start = self._seen.get(channel.id, 0)
        history = channel.history(viewer=viewer)
        fresh = [m for m in history if m.id > start]
        if history:
            self._seen[channel.id] = history[-1].id
        lines = [
            describe(m, self.stage.bot, self.stage.people) for m in fresh if not (m.flags.ephemeral)
        ]
        where = "#" + (channel.name or "channel")
        for line in lines:
            self.out(f"   in {where}, {display(viewer)} and everyone there see: {line}")
        return lines

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            raise DemoFailed(f"step {self.steps}: {problem}")


def display(member: simcord.MemberActor) -> str:
    return member.user.global_name or member.name


_MENTION = re.compile(r"<(@[!&]?|#)(\d+)>")
_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::[tTdDfFR])?>")
_LINK = re.compile(r"\[([^\]]+)\]\((?:<)?https?://[^)\s>]+(?:>)?\)")
_LINE_MARKUP = re.compile(r"^(?:-# |#{1,3} |>>> |> )", re.MULTILINE)
_INLINE_MARKUP = re.compile(r"\*\*|__|\|\||~~|`|(?<![\w*])\*(?=\S)|(?<=\S)\*(?![\w*])")


def plain(text: str, bot: discord.Client | None = None, people: Mapping[int, str] = {}) -> str:
    """Text as a person reads it in Discord: mentions and times as names, no markup.

    `people` names the simulated people: the bot has no members intent, so its cache does not.
    """

    def name(match: re.Match[str]) -> str:
        kind, raw = match.group(1), int(match.group(2))
        if bot is None:
            return "@someone" if kind.startswith("@") else "#a-channel"
        if kind == "#":
            channel = bot.get_channel(raw)
            return f"#{getattr(channel, 'name', None) or 'a-channel'}"
        if kind == "@&":
            role = next((r for g in bot.guilds if (r := g.get_role(raw)) is not None), None)
            return f"@{role.name if role else 'a role'}"
        if raw in people:
            return f"@{people[raw]}"
        user = bot.get_user(raw)
        return f"@{user.display_name if user else 'someone'}"

    def when(match: re.Match[str]) -> str:
        moment = datetime.fromtimestamp(int(match.group(1)), UTC)
        return moment.strftime("%H:%M UTC")

    text = _MENTION.sub(name, text)
    text = _TIMESTAMP.sub(when, text)
    text = _LINK.sub(r"\1", text)
    text = _LINE_MARKUP.sub("", text)
    return _INLINE_MARKUP.sub("", text)


def describe(
    message: discord.Message, bot: discord.Client | None = None, people: Mapping[int, str] = {}
) -> str:
    """One line for a message: its text or embed, shortened, and its buttons."""
    parts = []
    if message.content:
        parts.append(message.content)
    for embed in message.embeds:
        head = embed.author.name or embed.title or ""
        body = embed.description or " / ".join(f.value or "" for f in embed.fields)
        parts.append(f"[{head}] {body}" if head else body)
    text = " ".join(plain(" ".join(parts), bot, people).split())
    text = text if len(text) <= 160 else text[:157] + "..."
    buttons = [
        child.label
        for row in message.components
        for child in getattr(row, "children", [])
        if getattr(child, "label", None)
    ]
    return text + (f"  (buttons: {', '.join(b for b in buttons if b)})" if buttons else "")


def private_text(result: simcord.InteractionResult, stage: Stage | None = None) -> str:
    if result.modal is not None:
        return f"a form titled “{result.modal.get('title', '')}”"
    messages = [*([result.response] if result.response else []), *result.followups]
    bot, people = (stage.bot, stage.people) if stage is not None else (None, {})
    return " | ".join(describe(m.message, bot, people) for m in messages) or "(nothing)"


async def play_demo(stage: Stage, transcript: Transcript) -> None:
    """Play a whole circle; raise DemoFailed when a step does not do what it should."""
    t = transcript
    kai, mo = stage.keeper, stage.moderator
    river, sam, ash = stage.members

    t.step("Kai (keeper) opens a circle in #circles")
    created = await kai.slash(stage.circles, "circle create", name=CIRCLE_NAME, private=False)
    t.saw(kai, private_text(created, stage))
    card = t.public(stage.circles, kai)
    t.check(bool(card) and CIRCLE_NAME in card[-1], "no circle card was posted")
    thread = next(x for x in stage.circles.threads if x.name == CIRCLE_NAME)
    card_message = stage.circles.last_message
    assert card_message is not None

    t.step("River, Sam and Ash (members) and Mo (moderator) join by agreeing")
    for person in (river, sam, ash, mo):
        shown = await person.click(card_message, label="Join")
        t.saw(person, private_text(shown, stage))
        assert shown.response is not None
        agreed = await person.click(shown.response.message, label="I agree")
        t.saw(person, private_text(agreed, stage))
        t.check("You're in" in private_text(agreed, stage), f"{display(person)} was not let in")
    t.public(thread, kai)

    t.step("Kai (keeper) starts the weather check-in; River, Sam and Ash answer")
    await kai.slash(thread, "circle checkin")
    checkin = thread.last_message
    assert checkin is not None
    t.public(thread, kai)
    weather = stage.bot.library.checkin.weather
    for person, option in ((river, weather[0]), (sam, weather[-1]), (ash, weather[0])):
        clicked = await person.click(checkin, label=option.label)
        t.saw(person, private_text(clicked, stage))
    early = next(m for m in thread.history() if m.id == checkin.id)
    t.check("checked in" not in early.content, "totals showed at the moment of a click")
    await stage.env.advance_time(structure.PUBLISH_EVERY_SECONDS + 1)
    updated = next(m for m in thread.history() if m.id == checkin.id)
    totals = describe(updated, stage.bot, stage.people)
    t.out(f"   half a minute later everyone sees the totals: {totals}")
    t.check("3 people have checked in" in updated.content, "check-in totals were not updated")

    t.step("Kai (keeper) posts the first prompt of the essay deck; everyone in the circle sees it")
    prompted = await kai.slash(thread, "prompt next")
    t.saw(kai, private_text(prompted, stage))
    lines = t.public(thread, kai)
    deck = stage.bot.library.deck("essay")
    assert deck is not None
    opening = deck.prompts()[0].text[:60]
    t.check(any(opening in line for line in lines), "the first prompt was not posted")

    t.step("River posts anonymously; Sam and the others see only a label")
    shown = await river.slash(thread, "anon post")
    t.saw(river, private_text(shown, stage))
    sent = await river.submit_modal(
        shown, {"message": "Naming harm here feels safer than anywhere else.", "content_note": ""}
    )
    t.saw(river, private_text(sent, stage))
    t.check(
        not any("Anonymous ·" in describe(m, stage.bot, stage.people) for m in thread.history()),
        "the anonymous post appeared the moment it was written",
    )
    await stage.env.advance_time(REHEARSAL_DELAY_SECONDS + 1)
    t.out(f"   up to {REHEARSAL_DELAY_SECONDS} seconds later:")
    lines = t.public(thread, sam)
    t.check(any("Anonymous ·" in line for line in lines), "the anonymous post did not appear")
    post = thread.last_message
    assert post is not None
    t.check(post.interaction_metadata is None, "the post carries interaction metadata")

    t.step("Sam replies anonymously to that post; River sees only a label")
    shown = await sam.click(post, label="Reply anonymously")
    replied = await sam.submit_modal(
        shown, {"message": "Same for me. Thank you.", "content_note": ""}
    )
    t.saw(sam, private_text(replied, stage))
    await stage.env.advance_time(REHEARSAL_DELAY_SECONDS + 1)
    lines = t.public(thread, river)
    reply = thread.last_message
    t.check(
        reply is not None and reply.reference is not None and reply.reference.message_id == post.id,
        "the reply does not point at the post",
    )

    t.step("River reports the reply from the message's menu; Mo (moderator) sees it in #mod-queue")
    assert reply is not None
    shown = await river.context_menu(thread, "Report to moderators", reply)
    reported = await river.submit_modal(
        shown, {"reason": "Testing the report flow.", "contact": ["no"]}
    )
    t.saw(river, private_text(reported, stage))
    queue = t.public(stage.queue, mo)
    t.check(bool(queue), "the report did not reach the moderators' queue")
    item = stage.queue.last_message
    assert item is not None
    payload = json.dumps([item.content, *(e.to_dict() for e in item.embeds)])
    t.check(str(river.id) not in payload and "River" not in payload, "the queue names the reporter")

    t.step("Mo (moderator) removes the reported post; the mod log records it")
    removed = await mo.slash(thread, "mod remove", post=reply.jump_url, reason="Demo removal")
    t.saw(mo, private_text(removed, stage))
    t.check(all(m.id != reply.id for m in thread.history()), "the reported post is still there")
    t.public(stage.modlog, mo)

    t.step("Kai (keeper) closes the circle; everyone sees the closing message")
    closed = await kai.slash(thread, "circle close")
    t.saw(kai, private_text(closed, stage))
    t.public(thread, kai)
    salt = await stage.bot.db.fetchval("SELECT salt FROM circles WHERE name = ?", (CIRCLE_NAME,))
    t.check(salt is None, "the circle's salt was not destroyed")


async def run_demo(out: Callable[[str], None] = print) -> int:
    """Play the demo; 0 when every step did what it should, 1 otherwise."""
    async with staged(open_circle=False) as stage:
        transcript = Transcript(stage, out)
        out("Circlekeeper demo: a whole circle in a simulated server (nothing reaches Discord).")
        try:
            await play_demo(stage, transcript)
        except DemoFailed as failure:
            out(f"\nDEMO FAILED at {failure}")
            return 1
    out(f"\nAll {transcript.steps} steps did what they should.")
    return 0
