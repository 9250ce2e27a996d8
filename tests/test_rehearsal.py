"""The offline rehearsal: the real bot in a simulated server, served to a local browser page."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import simcord

from bot.client import CircleBot
from bot.services import config as config_service
from bot.services import times
from rehearsal.server import BOT_NAME, CIRCLE_NAME, run_demo, run_rehearsal, staged

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def page_call(
    port: int, capability: str, method: str, path: str, *, context: str | None = None
) -> dict[str, Any]:
    """One request as the browser page makes it (the capability is the address's fragment)."""
    headers = {"X-Simcord-Capability": capability, "Content-Type": "application/json"}
    if context is not None:
        headers["X-Simcord-Context"] = context
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        headers=headers,
        data=b"{}" if method == "POST" else None,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        payload: dict[str, Any] = json.loads(response.read())
        return payload


async def as_person(action: Callable[[], Awaitable[T]]) -> T:
    """Act as a person while the rehearsal's clock runs: an action that overlaps a clock
    tick is refused by simcord, as a second click would be; try again a moment later."""
    for _ in range(50):
        try:
            return await action()
        except simcord.SetupError as error:
            if "overlaps" not in str(error):
                raise
            await asyncio.sleep(0.05)
    raise AssertionError("the clock never let the action through")


async def test_rehearsal_serves_the_seeded_circle() -> None:
    """Headless, on a free loopback port: the page answers 200 and shows the seeded circle."""
    port = free_port()
    seen: dict[str, object] = {}

    async def look(preview: simcord.Preview) -> None:
        assert preview.url.startswith(f"http://127.0.0.1:{port}/#")
        seen["status"], seen["page"] = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/")
        seen["snapshot"] = json.dumps(await preview.snapshot())
        await preview.close()

    await asyncio.wait_for(run_rehearsal(port=port, announce=False, ready=look), timeout=60)
    assert seen["status"] == 200
    assert "<html" in str(seen["page"]).lower()
    snapshot = str(seen["snapshot"])
    assert CIRCLE_NAME in snapshot
    assert "offline rehearsal" in snapshot.lower() or "rehearsal" in snapshot.lower()
    assert BOT_NAME in snapshot
    assert "TestBot" not in snapshot


async def test_timed_post_shows_on_an_open_page_by_itself() -> None:
    """A delayed anonymous post appears on a page already open in the browser within 2 s of
    falling due, with the rehearsal's own clock and no refresh from anyone."""
    port = free_port()
    seen: dict[str, float] = {}

    async def look(preview: simcord.Preview) -> None:
        bot = preview.env.bot
        assert isinstance(bot, CircleBot)
        guild = preview.channel.guild
        assert guild is not None
        await config_service.set_delay(bot.db, guild.id, 2)
        capability = preview.url.split("#", 1)[1]
        page = await asyncio.to_thread(page_call, port, capability, "POST", "/api/pages")
        context = page["context"]["id"]
        river = preview.viewers[1]
        text = "A post that waits two seconds."
        shown = await as_person(lambda: river.slash(preview.channel, "anon post"))
        await as_person(lambda: river.submit_modal(shown, {"message": text, "content_note": ""}))
        stored = await bot.db.fetchval("SELECT deliver_at FROM anon_posts WHERE status = 'queued'")
        assert stored is not None
        due = time.monotonic() + (times.read(stored) - preview.env.now()).total_seconds()
        while time.monotonic() < due + 10:
            state = await asyncio.to_thread(
                page_call, port, capability, "GET", "/api/state", context=context
            )
            if text in json.dumps(state["messages"]):
                seen["late"] = time.monotonic() - due
                break
            await asyncio.sleep(0.1)
        await preview.close()

    await asyncio.wait_for(run_rehearsal(port=port, announce=False, ready=look), timeout=60)
    assert "late" in seen, "the post never showed on the open page"
    assert seen["late"] <= 2.0


async def test_refusals_in_the_rehearsal_are_answers_not_failures() -> None:
    """A member trying a keeper's command, or a command that does not fit the moment, gets a
    private answer, and simcord records no bot failure (the page reads env.errors_since)."""
    async with staged() as stage:
        river = stage.members[0]
        cursor = stage.env.error_cursor
        for name in ("prompt next", "circle close", "circle checkin"):
            refused = await river.slash(stage.thread, name)
            assert refused.response is not None and refused.response.ephemeral, name
            assert "keeper" in refused.response.content.lower(), name
        no_round = await stage.keeper.slash(stage.thread, "circle round next")
        assert no_round.response is not None and no_round.response.ephemeral
        elsewhere = await river.slash(stage.circles, "anon post")
        assert elsewhere.response is not None and elsewhere.response.ephemeral
        assert stage.env.errors_since(cursor) == ()


async def test_demo_plays_every_step(caplog: pytest.LogCaptureFixture) -> None:
    """The demo plays a whole circle, each step showing what the person saw, and exits 0."""
    caplog.set_level(logging.DEBUG)
    lines: list[str] = []
    assert await run_demo(lines.append) == 0
    transcript = "\n".join(lines)
    steps = [line for line in lines if line.startswith("\n== Step")]
    assert [s.split(": ", 1)[1] for s in steps] == [
        "Kai (keeper) opens a circle in #circles",
        "River, Sam and Ash (members) and Mo (moderator) join by agreeing",
        "Kai (keeper) starts the weather check-in; River, Sam and Ash answer",
        "Kai (keeper) posts the first prompt of the essay deck; everyone in the circle sees it",
        "River posts anonymously; Sam and the others see only a label",
        "Sam replies anonymously to that post; River sees only a label",
        "River reports the reply from the message's menu; Mo (moderator) sees it in #mod-queue",
        "Mo (moderator) removes the reported post; the mod log records it",
        "Kai (keeper) closes the circle; everyone sees the closing message",
    ]
    assert "Anonymous · " in transcript
    assert "All 9 steps did what they should." in transcript
    # Names, not Discord's raw markup: a person reads #channel and @name, not ids.
    assert not re.search(r"<(@[!&]?|#|t:)\d+", transcript), transcript
    assert "**" not in transcript and "`" not in transcript
    assert "@Mo (moderator)" in transcript
    assert "#Rehearsal circle" in transcript
    # The demo follows the live bot's logging rules: no post text in any log line.
    assert not any("Naming harm here" in r.getMessage() for r in caplog.records)


async def test_demo_fails_when_a_step_misbehaves(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step that does not do what it should ends the demo with 1 and says which step."""
    # Totals then wait for a fourth answer that never comes. (Read when the totals fall due,
    # so the patch holds however the cog imported it; a shorter clock instead would make each
    # click wait out simcord's settling in real time.)
    monkeypatch.setattr("rehearsal.server.structure.PUBLISH_FROM", 4)
    lines: list[str] = []
    assert await run_demo(lines.append) == 1
    failed = [line for line in lines if "DEMO FAILED" in line]
    assert failed == ["\nDEMO FAILED at step 3: check-in totals were not updated"], lines
