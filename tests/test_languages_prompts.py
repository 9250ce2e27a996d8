"""/prompt in another language: a Spanish circle, a Spanish-speaking keeper and an English one.

Private replies (listings, previews, acknowledgements, forms, the suggestions keepers see)
follow the reader's Discord client; what the bot posts in the thread (a prompt's header, its
session title and buttons, a schedule's notices) follows the circle's language.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import simcord

from bot.decks import Prompt
from bot.services import circles
from bot.services import config as config_service
from bot.services import prompts as prompt_service
from bot.services.circles import Circle
from tests.conftest import World
from tests.languages import english_left, everything_in, labels_of, message_text
from tests.test_circles import open_circle

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
IDEA = "¿Qué te ayudaría a sentir que te creen cuando hablas de tu trabajo?"


def soon(world: World, minutes: int = 2) -> str:
    return (world.env.now() + timedelta(minutes=minutes)).isoformat(timespec="seconds")


async def spanish_circle(world: World) -> tuple[simcord.ChannelHandle, Circle, discord.Message]:
    """A Spanish circle kept by the moderator (Spanish client) and Bob (English client)."""
    thread, card = await open_circle(world, language="es")
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None and circle.language == "es"
    shown = await world.bob.click(card, label="Unirme")
    await world.bob.click(shown.response.message, label="I agree")
    await world.mod.slash(thread, "circle keeper add", member=world.bob)
    return thread, circle, card


def first_heavy(world: World) -> tuple[Prompt, list[Prompt]]:
    deck = world.bot.library_for("es").deck("essay")
    assert deck is not None
    prompts = list(deck.prompts())
    index = next(i for i, p in enumerate(prompts) if p.is_heavy)
    return prompts[index], prompts[:index]


async def test_spanish_keeper_reads_prompt_in_spanish_and_the_thread_stays_spanish(
    world: World, locales: dict[int, str]
) -> None:
    locales[world.mod.id] = "es-ES"
    thread, circle, _ = await spanish_circle(world)
    spanish = world.bot.library_for("es").deck("essay")
    assert spanish is not None
    replies: list[str] = []

    decks = await world.mod.slash(thread, "prompt decks")
    assert decks.ephemeral and "Mazos de preguntas" in everything_in(decks)
    assert spanish.title in everything_in(decks), "the circle's own deck, in its language"
    replies.append(everything_in(decks))

    listed = await world.mod.slash(thread, "prompt list", deck="essay")
    assert "ligera" in everything_in(listed) and "intensa" in everything_in(listed)
    assert "Mostrar pregunta" in everything_in(listed)
    replies.append(everything_in(listed))

    heavy, before = first_heavy(world)
    preview = await world.mod.slash(thread, "prompt list", deck="essay", preview=heavy.id)
    assert preview.ephemeral
    assert everything_in(preview).startswith("Solo tú puedes ver esta vista previa")
    assert heavy.text in everything_in(preview), "the Spanish prompt itself"
    missing = await world.mod.slash(thread, "prompt list", deck="essay", preview="essay-999")
    assert "no tiene ninguna pregunta" in everything_in(missing)
    replies += [everything_in(preview), everything_in(missing)]

    # /prompt next: the posted prompt and its session title are the circle's (Spanish).
    posted = await world.mod.slash(thread, "prompt next")
    assert "Abre la sesión" in everything_in(posted)
    replies.append(everything_in(posted))
    message = thread.last_message
    first = spanish.sessions[0]
    assert f"**Nueva sesión: {first.title}**" in (message.embeds[0].description or "")
    assert message.embeds[0].title == "Una pregunta para el círculo"
    assert labels_of(message) == ["Responder de forma anónima", "Necesito un descanso"]
    assert not english_left(message_text(message)), message_text(message)

    again = await world.mod.slash(thread, "prompt post", id=first.prompts[0].id)
    assert "Ya se había publicado antes" in everything_in(again)
    added = await world.mod.slash(thread, "prompt add", text="¿Qué cuidas cuando cuidas a otras?")
    assert "añadida a este círculo" in everything_in(added)
    replies += [everything_in(again), everything_in(added)]

    # A schedule, stopped before a heavier prompt: the keeper reads Spanish, so does the thread.
    for prompt in before:
        await prompt_service.record_posted(world.db, circle.id, prompt.id, None, NOW)
    scheduled = await world.mod.slash(
        thread, "prompt schedule", every_hours=2, first_at=soon(world)
    )
    assert "cada 2 horas" in everything_in(scheduled) and "Me detendré antes" in everything_in(
        scheduled
    )
    replies.append(everything_in(scheduled))
    await world.env.advance_time(3 * 60)
    assert heavy.id not in await prompt_service.posted_ids(world.db, circle.id)
    notice = thread.last_message
    assert notice.content.startswith("La programación se detuvo aquí")
    assert f"preview:{heavy.id}" in notice.content
    assert not english_left(message_text(notice)), notice.content
    none_left = await world.mod.slash(thread, "prompt unschedule")
    assert "no tenía programación" in everything_in(none_left)
    replies.append(everything_in(none_left))

    # The heavy prompt, posted by hand: behind Mostrar pregunta, which each reader opens in
    # their own language around the circle's Spanish text.
    await world.mod.slash(thread, "prompt post", id=heavy.id)
    message = thread.last_message
    assert message.embeds[0].title == "Una pregunta más intensa"
    assert labels_of(message)[0] == "Mostrar pregunta"
    assert heavy.text[:40] not in message_text(message)
    assert not english_left(message_text(message)), message_text(message)
    shown = await world.mod.click(message, label="Mostrar pregunta")
    assert shown.ephemeral and heavy.text in everything_in(shown)
    replies.append(everything_in(shown))
    english = await world.bob.click(message, label="Mostrar pregunta")
    assert "Passing never needs a reason" in everything_in(english)
    assert heavy.text in everything_in(english)

    for reply in replies:
        assert not english_left(reply), reply


async def test_english_keeper_in_a_spanish_circle_reads_english_privately(
    world: World, locales: dict[int, str]
) -> None:
    locales[world.mod.id] = "es-ES"
    thread, circle, _ = await spanish_circle(world)
    listed = await world.bob.slash(thread, "prompt list", deck="essay")
    assert "light" in everything_in(listed) and "Text shown only behind" in everything_in(listed)
    posted = await world.bob.slash(thread, "prompt next")
    assert "Posted prompt" in everything_in(posted) and "It opens the session" in everything_in(
        posted
    )
    message = thread.last_message
    assert message.embeds[0].title == "Una pregunta para el círculo", "public: Spanish"
    assert "Nueva sesión" in (message.embeds[0].description or "")
    heavy, before = first_heavy(world)
    for prompt in before:
        await prompt_service.record_posted(world.db, circle.id, prompt.id, None, NOW)
    scheduled = await world.bob.slash(
        thread, "prompt schedule", every_hours=1, first_at=soon(world)
    )
    assert everything_in(scheduled).startswith("I'll post the next prompt here every hour")
    await world.env.advance_time(3 * 60)
    notice = thread.last_message.content
    assert notice.startswith("La programación se detuvo aquí") and f"`{heavy.id}`" in notice


async def test_spanish_member_suggests_and_reads_spanish(
    world: World, locales: dict[int, str]
) -> None:
    locales[world.mod.id] = "es-ES"
    locales[world.alice.id] = "es-419"
    thread, _, card = await spanish_circle(world)
    await config_service.set_delay(world.db, world.guild.id, 60)
    shown = await world.alice.click(card, label="Unirme")
    await world.alice.click(shown.response.message, label="Acepto")
    replies: list[str] = []

    form = await world.alice.slash(thread, "prompt suggest")
    assert form.modal is not None and "Sugerir una pregunta" in str(form.modal)
    refused = await world.alice.submit_modal(
        form, {"text": "Llámame al +34 612 345 678, ¿vale?", "content_note": ""}
    )
    assert refused.ephemeral and "número de teléfono" in everything_in(refused)
    assert "612" not in everything_in(refused)
    done = await world.alice.submit_modal(
        await world.alice.slash(thread, "prompt suggest"), {"text": IDEA, "content_note": ""}
    )
    assert done.ephemeral and everything_in(done).startswith("Gracias. Tu sugerencia llegará")
    replies += [everything_in(form), everything_in(refused), everything_in(done)]
    await world.alice.submit_modal(
        await world.alice.slash(thread, "prompt suggest"),
        {"text": "¿Qué palabra te gustaría que usaran para hablar de ti?", "content_note": ""},
    )
    await world.env.advance_time(61)

    # The Spanish keeper's private list; the English keeper's, of the same suggestions.
    listed = await world.mod.slash(thread, "prompt suggestions")
    assert everything_in(listed).startswith("2 sugerencias esperando:")
    assert labels_of(listed.response.message) == ["Añadir a este círculo", "Rechazar"]
    assert "Sugerida de forma anónima" in everything_in(listed)
    replies.append(everything_in(listed))
    english = await world.bob.slash(thread, "prompt suggestions")
    assert everything_in(english).startswith("2 suggestions waiting:")
    assert labels_of(english.response.message) == ["Add to this circle", "Decline"]

    shown_to_keeper = [listed.response, *listed.followups]
    first = next(m for m in shown_to_keeper if IDEA in str(m.embeds[0].description))
    other = next(m for m in shown_to_keeper if IDEA not in str(m.embeds[0].description))
    added = await world.mod.click(first.message, label="Añadir a este círculo")
    assert "sin ningún nombre" in (added.response.content or "")
    form = await world.mod.click(other.message, label="Rechazar")
    assert form.modal is not None and "Rechazar esta sugerencia" in str(form.modal)
    declined = await world.mod.submit_modal(form, {"reason": "Ya lo hablamos la semana pasada"})
    assert "con tu motivo" in everything_in(declined)
    replies += [everything_in(added), everything_in(form), everything_in(declined)]

    # The author reads what became of both, in Spanish, the keeper's reason as written.
    mine = await world.alice.slash(thread, "anon mine")
    text = everything_in(mine)
    assert "Tus sugerencias de preguntas aquí" in text
    assert "se añadió al círculo como la pregunta `c" in text
    assert "la rechazaron — “Ya lo hablamos la semana pasada”" in text
    replies.append(text)

    for reply in replies:
        assert not english_left(reply), reply


def test_prompt_forms_fit_discords_limits() -> None:
    """Modal titles and input labels stay within 45 characters in every language."""
    from bot.i18n import shipped_languages
    from cogs.prompts import DeclineModal, SuggestModal

    for language in shipped_languages():
        for modal in (SuggestModal(1, language), DeclineModal("t", 1, language)):
            assert len(modal.title) <= 45, (language, modal.title)
            for child in modal.children:
                assert isinstance(child, discord.ui.TextInput)
                shown = child.to_component_dict()
                assert len(shown["label"]) <= 45, (language, shown)
                assert len(shown.get("placeholder", "")) <= 100, (language, shown)
