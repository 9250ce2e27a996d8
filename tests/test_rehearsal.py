"""The offline rehearsal: the real bot in a simulated server, served to a local browser page."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import urllib.request

import pytest
import simcord

from rehearsal.server import CIRCLE_NAME, run_demo, run_rehearsal


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


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


async def test_demo_plays_every_step(caplog: pytest.LogCaptureFixture) -> None:
    """The demo plays a whole circle, each step showing what the person saw, and exits 0."""
    caplog.set_level(logging.DEBUG)
    lines: list[str] = []
    assert await run_demo(lines.append) == 0
    transcript = "\n".join(lines)
    steps = [line for line in lines if line.startswith("\n== Step")]
    assert [s.split(": ", 1)[1] for s in steps] == [
        "Kai opens a circle in #circles",
        "River, Sam and Ash join by agreeing",
        "Kai starts the weather check-in; River, Sam and Ash answer",
        "Kai posts the first prompt of the essay deck",
        "River posts anonymously",
        "Sam replies anonymously",
        "River reports the reply to the moderators (from the message's menu)",
        "Mo removes the reported post",
        "Kai closes the circle",
    ]
    assert "Anonymous · " in transcript
    assert "All 9 steps did what they should." in transcript
    # The demo follows the live bot's logging rules: no post text in any log line.
    assert not any("Naming harm here" in r.getMessage() for r in caplog.records)
