"""The moderators' side in other languages: `/mod`, the queue, reports and the mod log.

A moderator reads their private replies (and the `/mod queue` items shown only to them) in their
own client's language; the queue channel, the mod log and warnings sent by direct message are
the server's (`/setup language`), whoever acted. None of it weakens anonymity: the checks of
`tests/test_anonymous.py` run over the flows that touch anonymous posts.
"""

from __future__ import annotations

import logging

import discord
import pytest
import simcord

from bot.i18n import shipped_languages, tr
from bot.layer.moderation.helpers import ReportTarget
from bot.layer.moderation.modals import ReportModal
from bot.layer.moderation.views import HELD_BUTTONS, REPORT_BUTTONS
from tests.conftest import World
from tests.languages import english_left, everything_in
from tests.test_anonymous import (
    TEXT,
    anonymous_posts,
    assert_logs_clean,
    assert_new_rows_do_not_hold,
    assert_requests_do_not_unmask,
    circle_with_members,
    post,
    snapshot,
)
from tests.test_automod import BANNED
from tests.test_circles import open_circle
from tests.test_moderation import report, staff


def shown_in(message: simcord.ResponseMessage | discord.Message) -> str:
    """Every word a message shows: content, embeds (title, author, fields, footer), labels."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or "", embed.author.name or ""]
        parts += [embed.footer.text or ""]
        parts += [f"{field.name} {field.value}" for field in embed.fields]
    components = (
        [row.to_dict() for row in message.components]
        if isinstance(message, discord.Message)
        else message.components
    )
    parts += [str(c.get("label", "")) for row in components for c in row["components"]]
    return "\n".join(parts)


def labels(message: simcord.ResponseMessage | discord.Message) -> list[str]:
    components = (
        [row.to_dict() for row in message.components]
        if isinstance(message, discord.Message)
        else message.components
    )
    return [str(c.get("label", "")) for row in components for c in row["components"]]


async def spanish_circle(world: World, **options: object) -> simcord.ChannelHandle:
    """A circle in a server whose language is Spanish (its card reads "Unirme"), with alice
    and bob in it; both read English themselves."""
    thread, card = await open_circle(world, **options)
    for member in (world.alice, world.bob):
        shown = await member.click(card, label="Unirme")
        await member.click(shown.response.message, label="I agree")
    return thread


def modlog_lines(world: World) -> list[str]:
    return [m.content for m in world.modlog.history()]


async def test_spanish_moderator_decides_held_posts_in_spanish(
    world: World, locales: dict[int, str], caplog: pytest.LogCaptureFixture
) -> None:
    """/mod queue, Approve, Reject and Block author read Spanish for a Spanish-speaking
    moderator in an English server; the queue channel and the mod log stay English."""
    locales[world.mod.id] = "es-ES"
    await staff(world)
    thread, _ = await circle_with_members(world, review=True)
    caplog.set_level(logging.DEBUG)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    for number in range(3):
        await post(world.alice, thread, f"{TEXT} ({number})")
        await world.env.advance_time(5)
    in_channel = [m for m in world.queue.history() if m.embeds]
    assert len(in_channel) == 3
    # The queue channel is the server's: English here, whoever reads it.
    assert in_channel[0].embeds[0].title == "Held for review · Tuesday circle"
    assert labels(in_channel[0]) == ["Approve", "Reject", "Block author"]

    listing = await world.mod.slash(world.general, "mod queue")
    assert listing.ephemeral
    assert listing.response.content == "3 mensajes retenidos, primero lo más antiguo."
    items = listing.followups
    assert len(items) == 3 and all(item.ephemeral for item in items)
    assert items[0].embeds[0].title == "Retenido para revisión · Tuesday circle"
    assert (items[0].embeds[0].author.name or "").startswith("Anónimo · ")
    assert labels(items[0]) == ["Aprobar", "Rechazar", "Bloquear autoría"]
    replies = [everything_in(listing), *(shown_in(item) for item in items)]

    approved = await world.mod.click(items[0].message, label="Aprobar")
    assert approved.response.content.startswith("Aprobado por <@")
    assert "Aparecerá" in approved.response.content
    rejected = await world.mod.click(items[1].message, label="Rechazar")
    assert rejected.response.content.startswith("Rechazado por <@")
    blocked = await world.mod.click(items[2].message, label="Bloquear autoría")
    assert blocked.response.content.startswith("Autoría bloqueada (bloqueo #")
    replies += [everything_in(result) for result in (approved, rejected, blocked)]
    assert len(anonymous_posts(thread)) == 1

    # The queue channel's copies are tidied in the server's language, English.
    tidied = {m.id: m.content for m in world.queue.history()}
    assert tidied[in_channel[0].id].startswith("Approved by <@")
    assert tidied[in_channel[1].id].startswith("Rejected by <@")
    assert tidied[in_channel[2].id].startswith("Author blocked (block #")
    lines = modlog_lines(world)
    for action in ("approve", "reject", "block"):
        assert any(line.startswith(f"**{action}** by <@") for line in lines), lines

    blocks = await world.mod.slash(world.general, "mod blocks")
    assert blocks.response.content.startswith("**Bloqueos activos**")
    assert "hasta que se levante" in blocks.response.content
    empty = await world.mod.slash(world.general, "mod queue")
    assert empty.response.content.startswith("No hay nada pendiente")
    replies += [everything_in(blocks), everything_in(empty)]
    for text in replies:
        assert not english_left(text), text

    # Deciding in Spanish unmasks no one: requests, new rows and logs hold no trace of alice.
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)


async def test_spanish_server_logs_in_spanish_while_english_moderator_reads_english(
    world: World, locales: dict[int, str], caplog: pytest.LogCaptureFixture
) -> None:
    """With `/setup language es`, the queue channel, the mod log and a warning's direct message
    read Spanish; an English moderator's own replies stay English."""
    await staff(world)
    await world.admin.slash(world.general, "setup language", language="es")
    logged_before = len(modlog_lines(world))  # written while the server was English
    thread = await spanish_circle(world, review=True)
    caplog.set_level(logging.DEBUG)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    await post(world.alice, thread)
    held = world.queue.last_message
    assert held is not None
    assert held.embeds[0].title == "Retenido para revisión · Tuesday circle"
    assert labels(held) == ["Aprobar", "Rechazar", "Bloquear autoría"]
    assert not english_left(shown_in(held))

    # The English moderator approves in the queue channel: a public message, so it stays
    # Spanish when it is edited.
    approved = await world.mod.click(held, label="Aprobar")
    assert approved.response.content.startswith("Aprobado por <@")
    published = anonymous_posts_es(thread)
    assert len(published) == 1
    assert labels(published[0])[-1] == "Reportar", "the post's Report button: the circle's"
    entry = modlog_lines(world)[-1]
    assert entry.startswith("**aprobación** por <@") and "mensaje retenido en" in entry
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)

    # /mod block: the moderator's reply in English, the mod log entry in Spanish.
    result = await world.mod.slash(
        world.general, "mod block", post=published[0].jump_url, reason="Nombró a alguien."
    )
    assert result.response.content.startswith("Blocked **")
    assert "Nobody, you included, learns who this is." in result.response.content
    entry = modlog_lines(world)[-1]
    assert entry.startswith("**bloqueo** por <@") and "hasta que se levante: Nombró" in entry
    assert not english_left(entry)
    # The stored action stays the English word it is looked up by.
    assert await world.db.fetchval("SELECT count(*) FROM mod_log WHERE action = 'block'") == 1

    # A warning's direct message answers no interaction of the member's: the server's language.
    warned = await world.mod.slash(
        world.general, "mod warn", member=world.bob, reason="Por favor, sin nombres."
    )
    assert warned.response.content.startswith("Warned <@")
    dm = world.bob.user.dm_channel.last_message
    assert dm is not None
    assert dm.content.startswith("**Un mensaje del equipo de moderación de")
    assert "Por favor, sin nombres." in dm.content and not english_left(dm.content)
    assert modlog_lines(world)[-1].startswith("**advertencia** por <@")

    timed = await world.mod.slash(
        world.general, "mod timeout", member=world.bob, minutes=5, reason="Un descanso."
    )
    assert timed.response.content.startswith("Timed out <@")
    assert modlog_lines(world)[-1].startswith("**aislamiento temporal** por <@")
    for line in modlog_lines(world)[logged_before:]:
        assert not english_left(line), line


def anonymous_posts_es(thread: simcord.ChannelHandle) -> list[discord.Message]:
    """Anonymous posts in a Spanish circle ("Anónimo · label")."""
    return [
        m
        for m in thread.history()
        if m.embeds and (m.embeds[0].author.name or "").startswith("Anónimo · ")
    ]


async def test_reports_in_the_reporters_language_and_the_servers(
    world: World, locales: dict[int, str]
) -> None:
    """A Spanish-speaking member reports in Spanish; the queue channel shows the report in the
    server's language; a Spanish moderator decides it in Spanish."""
    locales[world.mod.id] = "es-ES"
    await staff(world)
    thread, _ = await circle_with_members(world)
    locales[world.bob.id] = "es-419"
    said = await world.alice.send(thread, "A named message.")
    shown = await world.bob.context_menu(thread, "Report to moderators", said)
    assert shown.modal is not None
    form = str(shown.modal)
    assert "Reportar al equipo de moderación" in form and "¿Qué pasa?" in form
    assert "No: deja mi nombre fuera del reporte" in form
    assert not english_left(form)
    filed = await report(world.bob, thread, said, reason="Nombra un lugar de trabajo.")
    assert filed.ephemeral
    assert filed.response.content == (
        "Gracias. Tu reporte ya está con el equipo de moderación. No verán quién lo envió."
    )
    queued = world.queue.last_message
    assert queued is not None
    assert queued.embeds[0].title == "Report from a member", "the server's language: English"
    assert labels(queued) == ["Dismiss", "Mark handled"]

    listing = await world.mod.slash(world.general, "mod queue")
    assert listing.response.content == "1 reporte abierto, primero lo más antiguo."
    [item] = listing.followups
    assert item.embeds[0].title == "Reporte de una persona del servidor"
    assert {f.name for f in item.embeds[0].fields} >= {"Mensaje", "Motivo", "Quién reporta"}
    assert labels(item) == ["Descartar", "Marcar como atendido"]
    decided = await world.mod.click(item.message, label="Marcar como atendido")
    assert decided.response.content.startswith("Reporte #1: marcado como atendido por <@")
    tidied = next(m for m in world.queue.history() if m.id == queued.id)
    assert tidied.content.startswith("Report #1: marked handled by <@")
    for text in (everything_in(listing), shown_in(item), everything_in(decided)):
        assert not english_left(text), text


async def test_spanish_server_shows_reports_in_spanish(world: World) -> None:
    """In a Spanish server a report reaches the queue channel in Spanish, and an anonymous
    post's author is named by its Spanish label line only."""
    await staff(world)
    await world.admin.slash(world.general, "setup language", language="es")
    thread = await spanish_circle(world)
    await post(world.alice, thread)
    published = anonymous_posts_es(thread)[-1]
    filed = await report(world.bob, thread, published, button=False)
    assert filed.response.content.startswith("Thank you. Your report is with the moderators.")
    queued = world.queue.last_message
    assert queued is not None
    embed = queued.embeds[0]
    assert embed.title == "Reporte de una persona del servidor"
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Escrito por"].startswith("Anónimo · ")
    assert str(world.alice.id) not in shown_in(queued) and world.alice.name not in shown_in(queued)
    assert labels(queued) == ["Retirar mensaje", "Descartar", "Marcar como atendido"]
    assert not english_left(shown_in(queued))
    removed = await world.mod.click(queued, label="Retirar mensaje")
    assert removed.response.content.startswith("Reporte #1: mensaje retirado por <@")
    assert anonymous_posts_es(thread) == []
    assert modlog_lines(world)[-1].startswith("**retirada** por <@")


async def test_spanish_moderator_reads_mod_commands_in_spanish(
    world: World, locales: dict[int, str]
) -> None:
    """/mod remove, note, notes, lock, unlock, slowmode and their refusals, in Spanish."""
    locales[world.mod.id] = "es-ES"
    await staff(world)
    thread, _ = await circle_with_members(world, review=False)
    await post(world.alice, thread)
    published = anonymous_posts(thread)[-1]
    replies = [
        await world.mod.slash(world.general, "mod remove", post="not a link", reason="x"),
        await world.mod.slash(
            world.general, "mod remove", post=published.jump_url, reason="Names someone."
        ),
        await world.mod.slash(world.general, "mod unblock", id=9),
        await world.mod.slash(world.general, "mod note", member=world.bob, text="Asked for help."),
        await world.mod.slash(world.general, "mod notes", member=world.bob),
        await world.mod.slash(world.general, "mod lock"),
        await world.mod.slash(thread, "mod lock"),
        await world.mod.slash(thread, "mod lock"),
        await world.mod.slash(thread, "mod unlock"),
        await world.mod.slash(thread, "mod slowmode", seconds=30),
        await world.mod.slash(thread, "mod slowmode", seconds=0),
        await world.mod.slash(
            world.general, "mod timeout", member=world.mod, minutes=5, reason="x"
        ),
    ]
    texts = [r.response.content for r in replies]
    assert texts[0].startswith("Eso no es un enlace")
    assert texts[1].startswith("Se retiró el mensaje de **")
    assert texts[2].startswith("No hay ningún bloqueo activo #9")
    assert texts[3].startswith("Anotado.")
    assert texts[4].startswith("**Sobre <@") and "**nota**" in texts[4]
    assert texts[5] == "Usa esto dentro del hilo de un círculo."
    assert texts[6].startswith("Hilo cerrado.")
    assert texts[7] == "Este hilo ya está cerrado."
    assert texts[8].startswith("Hilo reabierto.")
    assert texts[9] == "Modo lento aquí: 30 segundos entre mensajes."
    assert texts[10] == "Modo lento aquí: desactivado."
    assert texts[11] == "No puedes aplicarte un aislamiento temporal."
    for reply in replies:
        assert reply.ephemeral
        assert not english_left(everything_in(reply)), everything_in(reply)
    # The server is English: its mod log too.
    assert any(line.startswith("**remove** by <@") for line in modlog_lines(world))


async def test_automod_notice_in_the_authors_language(
    world: World, locales: dict[int, str]
) -> None:
    """A post the server's word list stops is refused in its author's own language."""
    await world.admin.slash(world.general, "setup filter add", word="zorb*")
    thread, _ = await circle_with_members(world)
    locales[world.alice.id] = "pt-BR"
    results = await post(world.alice, thread, BANNED)
    refused = results[-1].response.content
    assert refused.startswith("A lista de palavras deste servidor não permite")
    assert anonymous_posts(thread) == []
    english = await post(world.bob, thread, BANNED)
    assert "word list" in english[-1].response.content


@pytest.mark.parametrize("language", shipped_languages())
def test_moderators_words_fit_discords_limits(language: str) -> None:
    """Button labels (80), the report form's title and labels (45), placeholder and select
    options (100) stay within Discord's limits in every language."""
    for label, _ in [*HELD_BUTTONS.values(), *REPORT_BUTTONS.values()]:
        assert len(tr(language, label)) <= 80
    form = ReportModal(ReportTarget(1, 2, 3, "text", "https://x"), language).to_dict()
    assert len(form["title"]) <= 45
    [text_input] = form["components"][0]["components"]
    assert len(text_input["label"]) <= 45 and len(text_input["placeholder"]) <= 100
    [label] = [c for c in form["components"] if c["type"] == 18]
    assert len(label["label"]) <= 45 and len(label["description"]) <= 100
    assert all(len(option["label"]) <= 100 for option in label["component"]["options"])


async def test_a_keepers_words_stopped_by_a_rule_are_refused_in_their_language(
    world: World, locales: dict[int, str]
) -> None:
    """A prompt a keeper writes that the word list stops is refused in the keeper's language,
    and nothing is saved."""
    await world.admin.slash(world.general, "setup filter add", word="zorb*")
    thread, _ = await circle_with_members(world)
    locales[world.mod.id] = "es-ES"
    refused = await world.mod.slash(thread, "prompt add", text=BANNED)
    assert refused.ephemeral
    assert refused.response.content == (
        "La lista de palabras de este servidor no permite algo de tu mensaje, así que no se "
        "publicó nada. Puedes editarlo e intentarlo de nuevo.\n"
        "No se guardó nada: cambia la pregunta e inténtalo de nuevo."
    )
    assert await world.db.fetchval("SELECT count(*) FROM custom_prompts") == 0
