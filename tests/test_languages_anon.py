"""Languages for one's own anonymous posts and data: `/anon mine`, `/anon delete`, `/anon
contact` and `/anon inbox`, `/mydata`, and the later edits of an author's acknowledgement when
Discord refuses a post.

A Spanish-speaking member reads all of it in Spanish and an English one in English; what the
moderators see in the contact channel and the mod log is in the server's language; the member's
and the moderators' own words are never translated. The leak checks of the posting flow still
hold on the Spanish path.
"""

from __future__ import annotations

import logging

import discord
import pytest
import simcord

from bot.i18n import tr
from bot.layer.posting import PROBLEM_WORDS
from tests.conftest import World
from tests.languages import english_left, everything_in, labels_of
from tests.test_anonymous import (
    TEXT,
    anonymous_posts,
    assert_logs_clean,
    assert_new_rows_do_not_hold,
    assert_requests_do_not_unmask,
    post,
    snapshot,
)
from tests.test_contact import ANSWER, WORRY, contact_items, pseudonym_of
from tests.test_delivery import clear_faults, immediate_circle

SPANISH = "es-ES"
BACK = "Gracias, ya me siento mejor."


def shown_text(result: simcord.InteractionResult) -> str:
    """Everything a reply shows, with a picker's placeholder and options."""
    parts = [everything_in(result)]
    for followup in result.followups:
        parts.append(followup.content or "")
    message = result.response.message if result.response else None
    if message is not None:
        for row in message.components:
            for child in row.to_dict()["components"]:
                parts.append(str(child.get("placeholder", "")))
                parts += [str(option["label"]) for option in child.get("options", [])]
    return "\n".join(parts)


def assert_spanish(result: simcord.InteractionResult) -> None:
    text = shown_text(result)
    assert text.strip(), "nothing shown, so this check would prove nothing"
    assert not english_left(text), (english_left(text), text)


def picker_options(result: simcord.InteractionResult) -> list[str]:
    assert result.response is not None
    return [
        str(option["label"])
        for row in result.response.message.components
        for child in row.to_dict()["components"]
        for option in child.get("options", [])
    ]


def modlog_lines(world: World) -> list[str]:
    return [m.content for m in world.modlog.history() if m.content]


async def test_spanish_author_reads_mine_delete_and_a_refused_post_in_spanish(
    world: World, locales: dict[int, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A 403 in the thread: the Spanish author's acknowledgement is edited in Spanish, then
    again when the post goes out; /anon mine and /anon delete are Spanish; the English author
    beside her reads English; the mod log stays in the server's language (English here); and
    nothing in requests, new rows or logs points at her."""
    caplog.set_level(logging.DEBUG)
    thread = await immediate_circle(world)
    locales[world.alice.id] = SPANISH
    world.env.inject_error(
        "POST", f"/channels/{thread.id}/messages", status=403, code=50013, times=None
    )
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)

    spanish = await post(world.alice, thread)
    assert spanish[1].ephemeral
    told = spanish[1].response.content or ""
    assert "está en espera" in told and "le falta un permiso" in told
    assert "`/anon mine` muestra dónde está" in told
    assert not english_left(told), told
    english = await post(world.bob, thread, text="My own words.")
    assert "is waiting: Circlekeeper can't post in this thread yet" in (
        english[1].response.content or ""
    )

    mine = await world.alice.slash(thread, "anon mine")
    assert mine.ephemeral
    assert "Tus mensajes anónimos aquí" in (mine.response.content or "")
    assert "en espera: Circlekeeper todavía no puede publicar en este hilo" in (
        mine.response.content or ""
    )
    assert "`/anon delete` retira un mensaje que espera" in (mine.response.content or "")
    assert_spanish(mine)
    theirs = await world.bob.slash(thread, "anon mine")
    assert "waiting: Circlekeeper can't post in this thread yet" in theirs.response.content

    # The mod log is the server's: English, naming the thread and Discord's permission.
    await world.env.advance_time(60)
    blocked = [line for line in modlog_lines(world) if "can't post in" in line]
    assert len(blocked) == 1 and "Send Messages in Threads" in blocked[0], modlog_lines(world)

    # Fixed: the acknowledgement is edited once more, still in Spanish.
    clear_faults(world)
    await world.env.advance_time(310)
    assert len(anonymous_posts(thread)) == 2
    gone_out = spanish[1].response.content or ""
    assert gone_out.startswith("Tu mensaje (como **") and "ya salió: https://" in gone_out
    assert not english_left(gone_out), gone_out
    assert "has gone out now" in (english[1].response.content or "")
    assert any("can post in" in line and "again" in line for line in modlog_lines(world))

    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)

    # /anon delete: the question, the picker and the answer in Spanish.
    mark = len(world.env.http_requests)
    picker = await world.alice.slash(thread, "anon delete")
    assert picker.ephemeral
    assert (picker.response.content or "").startswith("¿Qué mensaje de “Tuesday circle”")
    options = picker_options(picker)
    assert options[0] == "Todos mis mensajes en este círculo (1)"
    assert "publicado ·" in options[1]
    assert_spanish(picker)
    done = await world.alice.select(picker.response.message, values=["all"])
    assert "Mensajes tuyos borrados en “Tuesday circle”: 1." in (done.response.content or "")
    assert_spanish(done)
    assert [m.embeds[0].description for m in anonymous_posts(thread)] == ["My own words."]
    none_left = await world.alice.slash(thread, "anon mine")
    assert none_left.response.content == "No tienes mensajes anónimos en este círculo."
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)

    # The English author, same commands, English.
    picker = await world.bob.slash(thread, "anon delete")
    assert picker_options(picker)[0] == "All my posts in this circle (1)"
    done = await world.bob.select(picker.response.message, values=["all"])
    assert done.response.content == "Deleted 1 of your posts in “Tuesday circle”."


async def test_a_deleted_thread_is_told_in_spanish(world: World, locales: dict[int, str]) -> None:
    """A 404: the Spanish author hears in Spanish that the post never went out."""
    thread = await immediate_circle(world)
    locales[world.alice.id] = SPANISH
    world.env.inject_error(
        "POST", f"/channels/{thread.id}/messages", status=404, code=10003, times=None
    )
    results = await post(world.alice, thread)
    told = results[1].response.content or ""
    assert "no se pudo publicar" in told and "`/anon mine` lo muestra como no publicado." in told
    assert not english_left(told), told
    mine = await world.alice.slash(thread, "anon mine")
    assert "no publicado: el hilo del círculo ya no existía" in mine.response.content
    assert_spanish(mine)


async def test_spanish_member_writes_to_the_moderators_and_reads_the_inbox(
    world: World, locales: dict[int, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The form, the acknowledgement, the inbox, Answer and Close in Spanish; the contact
    channel in the server's language (English), the moderator's own replies in theirs; the
    moderators' words reach her as they wrote them; nothing points at her."""
    caplog.set_level(logging.DEBUG)
    await world.configure()
    locales[world.alice.id] = SPANISH
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)

    shown = await world.alice.slash(world.general, "anon contact")
    assert shown.modal is not None
    form = str(shown.modal)
    assert "Escribir a la moderación" in form and "no un servicio de emergencias" in form
    assert_spanish(shown)
    sent = await world.alice.submit_modal(shown, {"message": WORRY})
    assert sent.ephemeral
    assert (sent.response.content or "").startswith("Enviado. Tu mensaje llegará a la moderación")
    assert "Recursos" in shown_text(sent)
    assert_spanish(sent)

    [item] = contact_items(world.queue)
    assert item.embeds[0].description == WORRY, "the member's words as written"
    assert "A member wrote to the moderators" in (item.embeds[0].footer.text or "")
    name = pseudonym_of(item)
    reply = await world.mod.click(item, label="Reply")
    assert reply.modal is not None and f"Reply to {name}" in str(reply.modal)
    answered = await world.mod.submit_modal(reply, {"message": ANSWER})
    assert (answered.response.content or "").startswith(f"Sent to **{name}**")

    box = await world.alice.slash(world.general, "anon inbox")
    assert box.ephemeral
    text = box.response.content or ""
    assert "**Tus conversaciones con la moderación**" in text
    assert f"> Moderación: {ANSWER}" in text, "the moderators' words as written"
    assert f"Responder a {name}" in shown_text(box) and f"Cerrar {name}" in shown_text(box)
    assert_spanish(box)
    answer = await world.alice.click(box.response.message, label=f"Responder a {name}")
    assert answer.modal is not None and f"Responder como {name}" in str(answer.modal)
    assert_spanish(answer)
    again = await world.alice.submit_modal(answer, {"message": BACK})
    assert (again.response.content or "").startswith(f"Enviado como **{name}**")
    assert_spanish(again)
    assert contact_items(world.queue)[-1].embeds[0].description == BACK

    box = await world.alice.slash(world.general, "anon inbox")
    assert "no hay respuestas nuevas." in (box.response.content or "")
    closed = await world.alice.click(box.response.message, label=f"Cerrar {name}")
    assert (closed.response.content or "").startswith(f"**{name}** está cerrada.")
    assert_spanish(closed)
    empty = await world.alice.slash(world.general, "anon inbox")
    assert (empty.response.content or "").startswith("Nada nuevo:")
    assert_spanish(empty)
    refused = await world.alice.click(box.response.message, label=f"Responder a {name}")
    assert refused.modal is None
    assert (refused.response.content or "").startswith("Esta conversación está cerrada")

    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, WORRY)
    assert_logs_clean(caplog, world.alice, BACK)

    # An English member, the same way, in English.
    shown = await world.bob.slash(world.general, "anon contact")
    assert "Contact the moderators" in str(shown.modal)
    sent = await world.bob.submit_modal(shown, {"message": "Could someone help?"})
    assert (sent.response.content or "").startswith("Sent. Your message reaches the moderators")
    box = await world.bob.slash(world.general, "anon inbox")
    assert "**Your conversations with the moderators**" in (box.response.content or "")


async def test_contact_channel_and_mod_log_follow_the_servers_language(world: World) -> None:
    """A Spanish server: the member's message arrives with Spanish buttons and notes, the
    mod log's delivery lines are Spanish; the English member and moderator still read their
    own private replies in English."""
    await world.configure()
    await world.admin.slash(world.general, "setup language", language="es")
    await world.admin.slash(world.general, "setup delay", max_seconds=0)

    sent = await world.alice.slash(world.general, "anon contact")
    done = await world.alice.submit_modal(sent, {"message": WORRY})
    assert (done.response.content or "").startswith("Sent. Your message reaches")
    [item] = [
        m
        for m in world.queue.history()
        if m.embeds and (m.embeds[0].author.name or "").startswith("Contacto · ")
    ]
    assert item.embeds[0].description == WORRY
    assert "Alguien del servidor escribió a la moderación" in (item.embeds[0].footer.text or "")
    assert labels_of(item) == ["Responder", "Cerrar", "Bloquear"]
    reply = await world.mod.click(item, label="Responder")
    assert reply.modal is not None and "Reply to" in str(reply.modal), "the moderator's own"
    await world.mod.submit_modal(reply, {"message": ANSWER})
    note = world.queue.history()[-1]
    assert (note.embeds[0].author.name or "").startswith("Moderación → ")
    blocked = await world.mod.click(item, label="Bloquear")
    assert (blocked.response.content or "").endswith("`/mod unblock` lifts it.")
    assert "La moderación bloqueó la conversación" in (world.queue.history()[-1].content or "")

    # A thread refusing posts is told to the mod log in Spanish.
    thread, _ = await _spanish_server_circle(world)
    world.env.inject_error(
        "POST", f"/channels/{thread.id}/messages", status=403, code=50013, times=None
    )
    results = await post(world.alice, thread)
    assert "is waiting: Circlekeeper can't post" in (results[1].response.content or "")
    await world.env.advance_time(60)
    lines = [line for line in modlog_lines(world) if "no puede publicar en" in line]
    assert len(lines) == 1 and "Enviar mensajes en hilos" in lines[0], modlog_lines(world)
    assert not english_left(lines[0].split("**", 2)[-1]), lines[0]
    clear_faults(world)
    await world.env.advance_time(310)
    assert any("ya puede volver a publicar en" in line for line in modlog_lines(world))


async def _spanish_server_circle(world: World) -> tuple[simcord.ChannelHandle, discord.Message]:
    """An English circle in the Spanish server, Alice and Bob in it."""
    await world.mod.slash(world.general, "circle create", name="Tuesday circle", language="en")
    thread = next(t for t in world.general.threads if t.name == "Tuesday circle")
    card = world.general.last_message
    assert card is not None
    for member in (world.alice, world.bob):
        shown = await member.click(card, label="Join")
        await member.click(shown.response.message, label="I agree")
    return thread, card


async def test_mydata_in_the_members_language(world: World, locales: dict[int, str]) -> None:
    """/mydata export and delete, the question, its buttons and the summary in Spanish; Keep
    it in English for an English member."""
    thread = await immediate_circle(world)
    await post(world.alice, thread)
    locales[world.alice.id] = SPANISH

    exported = await world.alice.slash(world.general, "mydata export")
    assert exported.response.content == (
        "Aquí tienes todo lo vinculado contigo. Solo tú puedes ver esto."
    )
    asked = await world.alice.slash(world.general, "mydata delete")
    assert asked.ephemeral
    assert (asked.response.content or "").endswith("¿Borrar?")
    assert labels_of(asked.response.message) == ["Borrar mis datos", "Conservarlos"]
    assert_spanish(asked)
    done = await world.alice.click(asked.response.message, label="Borrar mis datos")
    final = done.followups[-1] if done.followups else done.response
    summary = final.content or ""
    assert summary.startswith("Listo. Circlekeeper ya no guarda tu id")
    assert "**Todos mis mensajes en este círculo**" in summary
    assert "Tienes mensajes anónimos en: **Tuesday circle** (1)." in summary
    assert not english_left(summary), summary
    again = await world.alice.slash(world.general, "mydata delete")
    assert (again.response.content or "").startswith(
        "Circlekeeper no guarda nada con tu id en este servidor."
    )
    assert_spanish(again)

    asked = await world.bob.slash(world.general, "mydata delete")
    kept = await world.bob.click(asked.response.message, label="Keep it")
    assert kept.response.content == "Nothing was deleted."
    timing_out = await world.bob.slash(world.general, "mydata delete")
    await world.env.advance_time(200)
    assert timing_out.response.content == "Nothing was deleted (timed out)."
    locales[world.bob.id] = SPANISH
    timing_out = await world.bob.slash(world.general, "mydata delete")
    await world.env.advance_time(200)
    assert timing_out.response.content == "No se borró nada (se acabó el tiempo)."


@pytest.mark.parametrize("language", ["en", "es", "pt-BR"])
def test_labels_and_titles_fit_discords_limits(language: str) -> None:
    """Spanish and Portuguese run long: every label, title and placeholder of these flows
    still fits (button 80, option 100, form title 45, field label 45, placeholder 100)."""
    limits = {
        80: ["Delete my data", "Keep it", "Reply", "Close", "Block", "Resources"],
        100: ["All my posts in this circle", "Choose a post to delete"],
        45: ["Contact the moderators", "Your message", "Your reply (seen in their /anon inbox)"],
    }
    limits[100] += ["Shown to the moderators without your name."]
    for limit, texts in limits.items():
        for text in texts:
            assert len(tr(language, text)) <= limit, (language, text)
    # The longest status a post can show, with its date, fits a picker's option.
    longest = max((tr(language, words) for words in PROBLEM_WORDS.values()), key=len)
    assert len(f"{longest} · 30 Sep 23:59 UTC") <= 100, longest
    assert len(f"{tr(language, 'All my posts in this circle')} (25)") <= 100
