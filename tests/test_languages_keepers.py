"""Keepers in another language: a Spanish circle run by a Spanish-speaking keeper, and by an
English-speaking one.

The keeper's private replies follow their own Discord client; what the bot posts in the
circle (the round's start, its turns and the names an anonymous round gives, the pause, the
poll and its results, the check-out, a new agreement, the closing words) follows the circle.
"""

from __future__ import annotations

from collections.abc import Iterable

import discord
import pytest
import simcord

from bot.i18n import tr
from bot.services import circles, structure
from bot.services.wordlists import label_words
from tests.conftest import World
from tests.languages import english_left, everything_in, labels_of
from tests.test_circles import open_circle
from tests.test_structure import advance, turn_message

QUESTION = "¿Cuándo nos vemos?"
OPTIONS = "Mañanas | Tardes"
SPANISH_NOUNS = {word for word, _ in label_words("es").nouns}


def public(messages: Iterable[discord.Message]) -> str:
    """Everything the bot's messages show in a channel: content, embeds and button labels."""
    parts: list[str] = []
    for message in messages:
        parts.append(message.content or "")
        for embed in message.embeds:
            parts += [embed.title or "", embed.description or "", embed.footer.text or ""]
            parts += [f"{field.name} {field.value}" for field in embed.fields]
        parts += labels_of(message)
    return "\n".join(parts)


async def spanish_circle(
    world: World, *members: simcord.MemberActor
) -> tuple[simcord.ChannelHandle, discord.Message, circles.Circle]:
    """A Spanish circle the moderator opened, which `members` (Spanish-speaking) joined."""
    thread, card = await open_circle(world, name="Círculo del martes", language="es")
    for member in members:
        shown = await member.click(card, label="Unirme")
        await member.click(shown.response.message, label="Acepto")
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None and circle.language == "es"
    return thread, card, circle


async def take_every_turn(
    world: World, thread: simcord.ChannelHandle, circle: circles.Circle
) -> list[simcord.InteractionResult]:
    """Whoever holds the piece passes it on, until the round ends; their private replies."""
    replies: list[simcord.InteractionResult] = []
    everyone = (world.alice, world.bob, world.carol, world.mod)
    for _ in range(len(everyone) + 1):
        turn = await structure.holder(world.db, circle.id)
        if turn is None:
            return replies
        rnd = await structure.get_round(world.db, circle.id)
        assert rnd is not None
        if rnd.anonymous:
            key = world.bot.circle_keys.circle_key(circle)
            holder = next(
                m
                for m in everyone
                if structure.holder_key(rnd.round_salt, key, m.id) == turn.holder_key
            )
        else:
            holder = next(m for m in everyone if m.id == turn.user_id)
        taken = await holder.click(turn_message(thread), label="Tomar mi turno")
        passed = await holder.click(taken.response.message, label="Pasar")
        replies += [taken, passed]
    raise AssertionError("the round never ended")


async def test_spanish_keeper_runs_a_spanish_circle_in_spanish(
    world: World, locales: dict[int, str]
) -> None:
    """Create, list, agreements, keepers, pause, poll, check-out, a named and an anonymous
    round, close: the Spanish-speaking keeper reads no English sentence of ours, nor does
    anyone in the circle's thread or on its card."""
    for member in (world.mod, world.alice, world.carol):
        locales[member.id] = "es-ES"
    await world.configure()
    created = await world.mod.slash(
        world.general, "circle create", name="Círculo del martes", language="es"
    )
    assert "Tu círculo está abierto" in everything_in(created)
    replies = [created]
    thread = next(t for t in world.general.threads if t.name == "Círculo del martes")
    card = world.general.last_message
    assert card is not None
    for member in (world.alice, world.carol):
        shown = await member.click(card, label="Unirme")
        await member.click(shown.response.message, label="Acepto")
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None and circle.language == "es"

    listed = await world.mod.slash(world.general, "circle list")
    assert "Círculos abiertos" in everything_in(listed) and "(privado)" in everything_in(listed)
    replies.append(listed)

    added = await world.mod.slash(
        thread, "circle agreements add", text="Hablamos desde nuestra propia experiencia."
    )
    assert everything_in(added).startswith("Acuerdo") and "añadido" in everything_in(added)
    replies.append(added)
    announced = thread.last_message
    assert announced.content.startswith("Se añadió un acuerdo nuevo")
    assert labels_of(announced) == ["Leer y aceptar"]
    for member in (world.alice, world.carol):
        shown = await member.click(announced, label="Leer y aceptar")
        await member.click(shown.response.message, label="Acepto")
    shown = await world.mod.slash(thread, "circle agreements show")
    replies.append(shown)

    replies.append(await world.mod.slash(thread, "circle keeper add", member=world.carol))
    assert "es persona guardiana" in everything_in(replies[-1])
    replies.append(await world.mod.slash(thread, "circle keeper add", member=world.carol))
    replies.append(await world.mod.slash(thread, "circle keeper remove", member=world.carol))
    assert "ya no es persona guardiana" in everything_in(replies[-1])

    paused = await world.mod.slash(thread, "circle pause", minutes=2)
    assert "El hilo queda bloqueado" in everything_in(paused)
    replies.append(paused)
    assert thread.last_message.embeds[0].title == "Una pausa de 2 minutos"
    await advance(world, 150)
    assert thread.last_message.content.startswith("La pausa ha terminado")

    polled = await world.mod.slash(thread, "circle poll", question=QUESTION, options=OPTIONS)
    assert everything_in(polled).startswith("Encuesta publicada")
    replies.append(polled)
    poll = next(m for m in reversed(thread.history()) if QUESTION in m.content)
    assert poll.content.startswith("**Encuesta** · ")
    assert labels_of(poll) == ["Mañanas", "Tardes", "Cerrar encuesta"]
    voted = await world.alice.click(poll, label="Tardes")
    assert everything_in(voted).startswith("Tu voto está contado")
    replies.append(voted)
    closed = await world.mod.click(poll, label="Cerrar encuesta")
    assert everything_in(closed) == "La encuesta está cerrada."
    replies.append(closed)
    poll = next(m for m in thread.history() if m.id == poll.id)
    assert poll.content.startswith("**Encuesta (cerrada)**")
    assert "Votaron menos de 5 personas" in poll.content

    started = await world.mod.slash(thread, "circle round start", turn_minutes=3)
    assert everything_in(started).startswith("La ronda ha empezado con 2 personas")
    replies.append(started)
    intro = next(m for m in thread.history() if m.content.startswith("**Empieza una ronda.**"))
    assert "La pieza pasa por 2 personas en orden aleatorio, hasta 3 minutos cada una" in (
        intro.content
    )
    moved = await world.mod.slash(thread, "circle round next")
    assert everything_in(moved) == "La pieza ha pasado a la siguiente persona."
    replies.append(moved)
    replies += await take_every_turn(world, thread, circle)
    nothing = await world.mod.slash(thread, "circle round next")
    assert everything_in(nothing).startswith("Aquí no hay ninguna ronda en marcha")
    replies.append(nothing)

    await world.mod.slash(thread, "circle round start", mode="anonymous")
    intro = next(m for m in reversed(thread.history()) if m.content.startswith("**Empieza"))
    assert "Esta ronda es anónima" in intro.content
    announcement = turn_message(thread)
    assert "(nombre en esta ronda)" in announcement.content
    name = announcement.content.split("**")[1]
    assert name.split()[0] in SPANISH_NOUNS, f"a Spanish name for the holder: {name}"
    ended = await world.mod.slash(thread, "circle round end")
    assert everything_in(ended) == "La ronda ha terminado."
    replies.append(ended)

    checkout = await world.mod.slash(thread, "circle checkout")
    assert everything_in(checkout) == "Cierre publicado."
    replies.append(checkout)
    posted = thread.last_message
    assert posted.content.startswith("**Cierre** · ") and labels_of(posted) == ["Hacer el cierre"]
    form = await world.alice.click(posted, label="Hacer el cierre")
    assert form.modal is not None and "Algo que te llevas de hoy" in str(form.modal)
    done = await world.alice.submit_modal(
        form, {"takeaway": "Me llevo calma.", "care": "Dormir.", "share": ["no"]}
    )
    assert everything_in(done).startswith("Gracias por hacer el cierre")
    replies += [form, done]

    closing = await world.mod.slash(thread, "circle close")
    assert "El círculo está cerrado" in everything_in(closing)
    replies.append(closing)
    assert "Este círculo ya está cerrado" in public(thread.history())

    for reply in replies:
        assert not english_left(everything_in(reply)), everything_in(reply)
    mine = world.bot.user
    assert mine is not None
    said = public(m for m in thread.history() if m.author.id == mine.id)
    assert not english_left(said), english_left(said)
    assert not english_left(public([card, *world.general.history()]))


async def test_english_keeper_of_a_spanish_circle(world: World, locales: dict[int, str]) -> None:
    """The keeper reads English privately; the circle's public messages stay Spanish."""
    locales[world.alice.id] = "es-419"
    locales[world.carol.id] = "es-419"
    thread, _, _ = await spanish_circle(world, world.alice, world.carol)

    added = await world.mod.slash(thread, "circle agreements add", text="Sin prisas.")
    assert everything_in(added).startswith("Added agreement")
    assert thread.last_message.content.startswith("Se añadió un acuerdo nuevo")
    for member in (world.alice, world.carol):
        shown = await member.click(thread.last_message, label="Leer y aceptar")
        await member.click(shown.response.message, label="Acepto")

    paused = await world.mod.slash(thread, "circle pause", minutes=1)
    assert "locked until" in everything_in(paused)
    assert thread.last_message.embeds[0].title == "Una pausa de 1 minuto"
    await advance(world, 90)

    polled = await world.mod.slash(thread, "circle poll", question=QUESTION, options=OPTIONS)
    assert everything_in(polled).startswith("Poll posted")
    poll = next(m for m in reversed(thread.history()) if QUESTION in m.content)
    assert poll.content.startswith("**Encuesta** · ")
    closed = await world.mod.click(poll, label="Cerrar encuesta")
    assert everything_in(closed) == "The poll is closed."

    started = await world.mod.slash(thread, "circle round start", mode="anonymous")
    assert everything_in(started).startswith("The round has started with 2 people")
    announcement = turn_message(thread)
    assert "(nombre en esta ronda)" in announcement.content
    assert announcement.content.split("**")[1].split()[0] in SPANISH_NOUNS
    moved = await world.mod.slash(thread, "circle round next")
    assert everything_in(moved) == "The piece has moved on."
    ended = await world.mod.slash(thread, "circle round end")
    assert everything_in(ended) == "The round has ended."

    checkout = await world.mod.slash(thread, "circle checkout")
    assert everything_in(checkout) == "Check-out posted."
    assert labels_of(thread.last_message) == ["Hacer el cierre"]
    form = await world.mod.click(thread.last_message, label="Hacer el cierre")
    assert "One takeaway from today" in str(form.modal), "the form is the reader's"

    mine = world.bot.user
    assert mine is not None
    said = public(m for m in thread.history() if m.author.id == mine.id)
    assert not english_left(said), english_left(said)

    closing = await world.mod.slash(thread, "circle close")
    assert "The circle is closed" in everything_in(closing)
    assert thread.last_message.content.startswith("Este círculo ya está cerrado")


@pytest.mark.parametrize("language", ["es", "pt-BR"])
async def test_anonymous_round_names_come_from_the_circles_words(
    world: World, language: str
) -> None:
    """A holder's name in an anonymous round is made of the circle language's label words,
    and stays fixed for that round."""
    join = {"es": "Unirme", "pt-BR": "Entrar"}[language]  # the card is the circle's
    thread, card = await open_circle(world, language=language)
    for member in (world.alice, world.bob):
        shown = await member.click(card, label=join)
        await member.click(shown.response.message, label="I agree")  # theirs: English
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    await world.mod.slash(thread, "circle round start", mode="anonymous")
    rnd = await structure.get_round(world.db, circle.id)
    turn = await structure.holder(world.db, circle.id)
    assert rnd is not None and turn is not None and turn.holder_key is not None
    name = structure.round_alias(turn.holder_key, label_words(language))
    assert f"**{name}**" in turn_message(thread).content
    nouns = {word for word, _ in label_words(language).nouns}
    assert name.split()[0] in nouns
    assert structure.round_alias(turn.holder_key) != name, "not the English words"


async def test_join_gate_and_admit_in_the_readers_language(
    world: World, locales: dict[int, str]
) -> None:
    """A Spanish-speaking member held back by the gate is told in Spanish how long to wait;
    the Spanish-speaking keeper who admits her reads Spanish too."""
    locales[world.alice.id] = "es-ES"
    locales[world.mod.id] = "es-ES"
    thread, card = await open_circle(world, language="es")
    await world.admin.slash(world.general, "setup join_gate", account_days=7)
    card = next(m for m in world.general.history() if m.id == card.id)
    refused = await world.alice.click(card, label="Unirme")
    assert refused.ephemeral
    assert "Podrás unirte en unos 7 días." in everything_in(refused)
    assert "`/circle admit`" in everything_in(refused)
    admitted = await world.mod.slash(thread, "circle admit", member=world.alice)
    assert "ya puede unirse a este círculo" in everything_in(admitted)
    again = await world.mod.slash(thread, "circle admit", member=world.alice)
    assert "(Ya podía hacerlo.)" in everything_in(again)
    for reply in (refused, admitted, again):
        assert not english_left(everything_in(reply)), everything_in(reply)


async def test_a_break_asks_the_keeper_in_the_circles_language(
    world: World, locales: dict[int, str]
) -> None:
    """The card's I need a break is the circle's; what the member reads is theirs (here
    English); the DM to the keeper about the circle is the circle's; the queue channel's
    fallback is the server's."""
    _, card, _ = await spanish_circle(world)
    shown = await world.alice.click(card, label="Unirme")
    await world.alice.click(shown.response.message, label="I agree")
    card = next(m for m in world.general.history() if m.id == card.id)
    assert "Necesito un descanso" in labels_of(card)
    opened = await world.alice.click(card, label="Necesito un descanso")
    assert everything_in(opened).startswith("Only you can see this")
    asked = await world.alice.click(
        opened.response.message, label="Ask a keeper to check in with me"
    )
    assert everything_in(asked).startswith("Thank you for saying so")
    dm = world.mod.user.dm_channel.history()[-1].content
    assert "pulsó **Necesito un descanso**" in dm and not english_left(dm)

    dms = world.mod.user.dm_channel
    world.env.inject_error("POST", f"/channels/{dms.id}/messages", status=403, code=50007)
    again = await world.alice.click(card, label="Necesito un descanso")
    await world.alice.click(again.response.message, label="Ask a keeper to check in with me")
    assert "pressed **I need a break**" in world.queue.history()[-1].content, "the server's"


# Discord's limits for where these texts appear: button labels, a form's title, its fields
# and a select's options.
LIMITS = {
    "Close poll": 80,
    "Check out": 45,
    "Edit": 80,
    "I need a break": 80,
    "Ask a keeper to check in with me": 80,
    "One takeaway from today (optional)": 45,
    "One way you'll look after yourself (optional)": 45,
    "Share your takeaway?": 45,
    "No, keep it private": 100,
    "Yes, share my takeaway anonymously": 100,
}


@pytest.mark.parametrize("language", ["es", "pt-BR"])
def test_labels_fit_discords_limits(language: str) -> None:
    for text, limit in LIMITS.items():
        translated = tr(language, text)
        assert translated != text and len(translated) <= limit, (language, text, translated)
