"""Join gates: `/setup join_gate`, the Join flow holding very new accounts and members back,
and `/circle admit`; end to end in simcord and on the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import pytest

from bot.db import Database
from bot.services import config as config_service
from bot.services import gates
from bot.services.config import GuildConfig, OutOfRange
from tests.conftest import World
from tests.test_circles import join, open_circle

DAY = 24 * 3600


def _card(world: World, card: discord.Message) -> discord.Message:
    """The card as it is now (after edits)."""
    return next(m for m in world.general.history() if m.id == card.id)


def _fields(message: object) -> dict[str, str]:
    embed = message.embeds[0]  # type: ignore[attr-defined]
    return {f.name: f.value for f in embed.fields}


async def test_fresh_account_is_refused_then_admitted(world: World) -> None:
    """A fresh account is told privately how long to wait; after /circle admit it joins."""
    thread, card = await open_circle(world)
    result = await world.admin.slash(world.general, "setup join_gate", account_days=7)
    assert result.ephemeral and "7 days" in result.response.content

    refused = await world.alice.click(_card(world, card), label="Join")
    assert refused.ephemeral
    assert "You can join in about 7 days" in refused.response.content
    assert "/circle admit" in refused.response.content
    assert not await world.db.fetchval(
        "SELECT count(*) FROM memberships WHERE user_id = ?", (world.alice.id,)
    )
    by_name = await world.alice.slash(world.general, "circle join", name="Tuesday circle")
    assert "about 7 days" in by_name.response.content

    admitted = await world.mod.slash(thread, "circle admit", member=world.alice)
    assert admitted.ephemeral and "can join this circle now" in admitted.response.content
    assert any("circle admit" in m.content for m in world.modlog.history())

    await join(world, world.alice, _card(world, card))
    assert await world.db.fetchval(
        "SELECT count(*) FROM memberships WHERE user_id = ?", (world.alice.id,)
    )
    # Admitted to this circle only: the gate still holds them back elsewhere.
    _, other = await open_circle(world, "Thursday circle")
    again = await world.alice.click(other, label="Join")
    assert "about 7 days" in again.response.content


async def test_gate_opens_by_itself_when_the_wait_is_over(world: World) -> None:
    """Time in the server counts from member.joined_at: after the wait, Join works."""
    _, card = await open_circle(world)
    await world.admin.slash(world.general, "setup join_gate", server_days=2)
    await world.env.advance_time(DAY + 60)
    refused = await world.bob.click(_card(world, card), label="Join")
    assert "in about 24 hours" in refused.response.content
    await world.env.advance_time(DAY)
    await join(world, world.bob, _card(world, card))
    assert await world.db.fetchval(
        "SELECT count(*) FROM memberships WHERE user_id = ?", (world.bob.id,)
    )


async def test_agreements_shown_before_the_gate_still_meet_it(world: World) -> None:
    """I agree on agreements opened before the gate was turned on is held back too."""
    _, card = await open_circle(world)
    shown = await world.carol.click(card, label="Join")
    await world.admin.slash(world.general, "setup join_gate", account_days=30)
    agreed = await world.carol.click(shown.response.message, label="I agree")
    assert "about 30 days" in agreed.response.content
    assert not await world.db.fetchval(
        "SELECT count(*) FROM memberships WHERE user_id = ?", (world.carol.id,)
    )


async def test_gate_is_on_in_setup_show_and_card_without_its_numbers(world: World) -> None:
    """/setup show, the circle card and the mod log say a gate is on, never how long it is."""
    _, card = await open_circle(world)
    assert "Joining" not in _fields(_card(world, card))
    await world.admin.slash(world.general, "setup join_gate", account_days=13, server_days=11)
    shown = await world.admin.slash(world.general, "setup show")
    assert "Join gate: on" in shown.response.content
    fields = _fields(_card(world, card))
    assert "join gate" in fields["Joining"]
    logged = [m.content for m in world.modlog.history()]
    assert any("join gate turned on" in line for line in logged)
    for text in [shown.response.content, fields["Joining"], *logged]:
        assert "13" not in text and "11" not in text, text

    await world.admin.slash(world.general, "setup join_gate")
    shown = await world.admin.slash(world.general, "setup show")
    assert "Join gate: off" in shown.response.content
    assert "Joining" not in _fields(_card(world, card))


async def test_keepers_and_moderators_are_not_held_back(world: World) -> None:
    """The gate is for people joining; the circle's keepers and moderators pass it."""
    _, card = await open_circle(world)
    await world.admin.slash(world.general, "setup join_gate", account_days=7, server_days=7)
    shown = await world.mod.click(card, label="Join")
    assert shown.response.embeds, shown.response.content  # the agreements, not a refusal


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"account_days": -1}, "account age gate, in days, must be between 0 and 3650"),
        ({"server_days": 3651}, "time-in-server gate, in days, must be between 0 and 3650"),
        ({"account_days": 5, "server_days": -3}, "between 0 and 3650"),
    ],
)
async def test_bad_gates_are_refused_and_change_nothing(
    world: World, options: dict[str, int], expected: str
) -> None:
    """A negative gate or one over 3650 days gets a clear private message; nothing is saved."""
    await world.configure()
    result = await world.admin.slash(world.general, "setup join_gate", **options)
    assert result.ephemeral and expected in result.response.content
    config = await config_service.get_config(world.db, world.guild.id)
    assert not config.gated


async def test_admit_refusals(world: World) -> None:
    """Admitting with no gate, someone already in, or as a non-keeper: a clear message."""
    thread, card = await open_circle(world)
    no_gate = await world.mod.slash(thread, "circle admit", member=world.alice)
    assert "no join gate" in no_gate.response.content
    await join(world, world.alice, card)
    await world.admin.slash(world.general, "setup join_gate", account_days=7)
    already = await world.mod.slash(thread, "circle admit", member=world.alice)
    assert "in this circle already" in already.response.content
    not_keeper = await world.alice.slash(thread, "circle admit", member=world.bob)
    assert "keepers" in not_keeper.response.content
    assert not await world.db.fetchval("SELECT count(*) FROM circle_admissions")


async def test_admission_is_deleted_with_the_members_data(world: World) -> None:
    """An admission is stored by id, so /mydata export shows it and /mydata delete removes it."""
    thread, _ = await open_circle(world)
    await world.admin.slash(world.general, "setup join_gate", account_days=7)
    await world.mod.slash(thread, "circle admit", member=world.bob)
    asked = await world.bob.slash(world.general, "mydata delete")
    await world.bob.click(asked.response.message, label="Delete my data")
    assert not await world.db.fetchval("SELECT count(*) FROM circle_admissions")


# --- the service -------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_gate_wait_takes_the_longer_of_the_two_ages() -> None:
    """The wait is until both ages pass; no gate, or old enough, means no wait."""
    config = GuildConfig(1, gate_account_days=10, gate_server_days=3)
    wait = gates.gate_wait(config, account_created=NOW - timedelta(days=9), joined_at=NOW, now=NOW)
    assert wait is not None and wait.wait == timedelta(days=3)
    assert (
        gates.gate_wait(
            config,
            account_created=NOW - timedelta(days=10),
            joined_at=NOW - timedelta(days=3),
            now=NOW,
        )
        is None
    )
    assert gates.gate_wait(GuildConfig(1), account_created=NOW, joined_at=None, now=NOW) is None
    unknown = gates.gate_wait(config, account_created=NOW, joined_at=None, now=NOW)
    assert unknown is not None and unknown.wait is None
    assert "can't let you in by myself" in gates.refusal_text(unknown)


def test_waits_are_rounded_up() -> None:
    """A member who comes back when told is let in."""
    assert gates.describe_wait(timedelta(days=2, minutes=1)) == "in about 3 days"
    assert gates.describe_wait(timedelta(hours=5, minutes=1)) == "in about 6 hours"
    assert gates.describe_wait(timedelta(minutes=20)) == "within the hour"


async def test_set_join_gate_is_all_or_nothing(db: Database) -> None:
    """One bad age leaves both as they were."""
    await config_service.set_join_gate(db, 1, 4, 5)
    with pytest.raises(OutOfRange):
        await config_service.set_join_gate(db, 1, 6, 3651)
    config = await config_service.get_config(db, 1)
    assert (config.gate_account_days, config.gate_server_days) == (4, 5)
