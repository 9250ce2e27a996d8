"""Languages end to end: a Spanish circle, a Spanish-speaking member and an English one.

simcord sends `locale: "en-US"` on every interaction, so the `locales` fixture wraps
`simcord.interactions.base_payload` to give each member the locale of their own client.
Private replies follow that locale; what the bot posts in the circle follows the circle.
"""

from __future__ import annotations

import logging

import pytest

from bot.i18n import language_of_locale
from bot.services import anonymous as anon
from bot.services import circles, structure
from bot.services.wordlists import label_words
from tests.conftest import World
from tests.languages import english_left, everything_in, labels_of
from tests.test_anonymous import (
    assert_logs_clean,
    assert_new_rows_do_not_hold,
    assert_requests_do_not_unmask,
    snapshot,
)
from tests.test_circles import join, open_circle
from tests.test_structure import turn_message

TEXT = "Mi propio texto, tal como lo escribí."


async def test_spanish_member_and_english_member_in_a_spanish_circle(
    world: World, locales: dict[int, str], caplog: pytest.LogCaptureFixture
) -> None:
    locales[world.alice.id] = "es-ES"
    locales[world.carol.id] = "es-419"
    thread, card = await open_circle(world, language="es")
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None and circle.language == "es"

    # The card is public: the circle's language, whoever reads it.
    fields = {f.name: f.value for f in card.embeds[0].fields}
    assert "Personas guardianas" in fields and "Acuerdos" in fields
    assert "Unirme" in labels_of(card)
    assert not english_left(card.embeds[0].description or "")

    # Joining, in Spanish: the agreements (the circle's own, Spanish), I agree, the welcome.
    shown = await world.alice.click(card, label="Unirme")
    assert shown.ephemeral
    agreements = shown.response.message
    assert agreements.embeds[0].title.startswith("Acuerdos de")
    assert labels_of(agreements) == ["Acepto", "Ahora no"]
    replies = [shown]
    joined = await world.alice.click(agreements, label="Acepto")
    assert joined.response.content.startswith("Gracias. Ya estás dentro")
    replies.append(joined)

    # The English member gets English around the circle's Spanish agreements.
    shown = await world.bob.click(card, label="Unirme")
    assert shown.response.message.embeds[0].title.startswith("Agreements for")
    assert "personas" in (shown.response.message.embeds[0].description or "").lower()
    joined = await world.bob.click(shown.response.message, label="I agree")
    assert joined.response.content.startswith("Thank you. You're in")

    # Posting anonymously: the form, the acknowledgement and its small-circle note.
    caplog.set_level(logging.DEBUG)
    before = await snapshot(world.db)
    mark = len(world.env.http_requests)
    form = await world.alice.slash(thread, "anon post")
    assert form.modal is not None and "Publicar de forma anónima" in str(form.modal)
    assert "Tu mensaje" in str(form.modal)
    done = await world.alice.submit_modal(form, {"message": TEXT, "content_note": ""})
    assert done.ephemeral
    assert done.response.content.startswith("Gracias. Tu mensaje aparecerá como")
    assert "muy pocas para pasar desapercibida" in done.response.content
    replies += [form, done]
    posted = [m for m in thread.history() if m.embeds and m.embeds[0].description == TEXT]
    assert len(posted) == 1, "the member's own words go out exactly as written"
    # The language path unmasks no one: requests, new rows and logs hold no trace of her.
    assert_requests_do_not_unmask(world, mark, world.alice)
    assert_new_rows_do_not_hold(before, await snapshot(world.db), world.alice)
    assert_logs_clean(caplog, world.alice, TEXT)
    author = posted[0].embeds[0].author.name or ""
    assert author.startswith("Anónimo · ")
    noun = author.removeprefix("Anónimo · ").split()[0]
    assert noun in {word for word, _ in label_words("es").nouns}, "a Spanish label"
    assert labels_of(posted[0])[:1] == ["Responder de forma anónima"], "the circle's buttons"

    form = await world.bob.slash(thread, "anon post")
    assert "Post anonymously" in str(form.modal)
    done = await world.bob.submit_modal(form, {"message": "My own words.", "content_note": ""})
    assert done.response.content.startswith("Thank you. Your post will appear as")
    english_post = next(
        m for m in thread.history() if m.embeds and "My own" in str(m.embeds[0].description)
    )
    assert (english_post.embeds[0].author.name or "").startswith("Anónimo · "), "public: Spanish"

    # Taking a turn: the announcement is public (Spanish); each holder reads their own language.
    await world.mod.slash(thread, "circle round start")
    announcement = turn_message(thread)
    assert "tienes la pieza de la palabra" in announcement.content
    assert "Tomar mi turno" in labels_of(announcement)
    for _ in range(4):
        turn = await structure.holder(world.db, circle.id)
        assert turn is not None
        holder = next(m for m in (world.alice, world.bob, world.mod) if m.id == turn.user_id)
        taken = await holder.click(turn_message(thread), label="Tomar mi turno")
        if holder is world.alice:
            assert taken.response.content.startswith("La pieza de la palabra es tuya")
            assert labels_of(taken.response.message) == ["Compartir", "Pasar", "Vuelve a mí"]
            passed = await holder.click(taken.response.message, label="Pasar")
            assert passed.response.content.startswith("Pasaste")
            replies += [taken, passed]
            break
        assert taken.response.content.startswith("The talking piece is yours")
        await holder.click(taken.response.message, label="Pass")
    else:
        raise AssertionError("the piece never reached the Spanish-speaking member")

    # /privacy, in Spanish, saying members' own words are never translated.
    privacy = await world.alice.slash(thread, "privacy")
    text = everything_in(privacy)
    assert "Qué guarda Circlekeeper" in text
    assert "Tus propias palabras nunca se traducen" in text
    replies.append(privacy)
    english = await world.bob.slash(thread, "privacy")
    assert "Your own words are never translated" in everything_in(english)

    for reply in replies:
        assert not english_left(everything_in(reply)), everything_in(reply)

    # es-419 reads Spanish too.
    shown = await world.carol.click(card, label="Unirme")
    assert labels_of(shown.response.message) == ["Acepto", "Ahora no"]


async def test_a_locale_we_do_not_ship_reads_english(world: World, locales: dict[int, str]) -> None:
    locales[world.alice.id] = "fr"
    _, card = await open_circle(world)
    shown = await world.alice.click(card, label="Join")
    assert labels_of(shown.response.message) == ["I agree", "Not now"]
    assert language_of_locale("fr") == "en" and language_of_locale(None) == "en"


async def test_circle_language_defaults_to_the_servers(world: World) -> None:
    """No language given: the one set with /setup language (here Portuguese)."""
    await world.configure()
    await world.admin.slash(world.general, "setup language", language="pt-BR")
    thread, card = await open_circle(world)
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None and circle.language == "pt-BR"
    assert "Pessoas guardiãs" in {f.name for f in card.embeds[0].fields}
    assert "Entrar" in labels_of(card)


async def test_a_circle_whose_language_is_gone_works_in_english(world: World) -> None:
    thread, card = await open_circle(world)
    await world.db.execute("UPDATE circles SET language = 'xx'")
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    assert world.bot.library_for(circle.language) is world.bot.library
    await join(world, world.alice, card)
    redrawn = next(m for m in world.general.history() if m.id == card.id)
    assert "Keepers" in {f.name for f in redrawn.embeds[0].fields}
    done = await world.alice.submit_modal(
        await world.alice.slash(thread, "anon post"), {"message": "Still here.", "content_note": ""}
    )
    assert done.response.content.startswith("Thank you. Your post will appear as")


def test_spanish_labels_agree_with_their_noun() -> None:
    words = label_words("es")
    candidates = anon.label_candidates(b"\x01" * 32, words)
    for candidate in [next(candidates) for _ in range(50)]:
        noun, adjective = candidate.split(" ", 1)
        gender = dict(words.nouns)[noun]
        forms = next(pair for pair in words.adjectives if adjective in pair)
        assert adjective == (forms[1] if gender == "f" else forms[0]), candidate


async def test_commands_carry_their_names_in_each_language(world: World) -> None:
    synced = [
        r for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")
    ]
    assert synced
    anon_command = next(c for c in synced[-1].json if c["name"] == "anon")
    assert anon_command["name_localizations"] == {
        "es-ES": "anonimo",
        "es-419": "anonimo",
        "pt-BR": "anonimo",
    }
    assert anon_command["description_localizations"]["es-ES"] == (
        "Publica en un círculo sin tu nombre."
    )
    # A context menu keeps its capitals and spaces.
    menu = next(c for c in synced[-1].json if c["name"] == "Reply anonymously")
    assert menu["name_localizations"]["es-ES"] == "Responder de forma anónima"


async def test_check_in_in_the_circles_language(world: World, locales: dict[int, str]) -> None:
    """A Spanish circle's check-in is public, so Spanish; its answer is private, so the
    reader's (here Portuguese)."""
    locales[world.alice.id] = "pt-BR"
    thread, card = await open_circle(world, language="es")
    shown = await world.alice.click(card, label="Unirme")
    await world.alice.click(shown.response.message, label="Aceito")
    await world.mod.slash(thread, "circle checkin")
    spanish = world.bot.library_for("es")
    posted = thread.history()[-1]
    assert spanish.checkin.question in posted.content
    assert posted.content.startswith("**Ronda de ánimo**")
    assert [w.label for w in spanish.checkin.weather] == labels_of(posted)
    assert not english_left(posted.content)
    answered = await world.alice.click(posted, label=spanish.checkin.weather[0].label)
    assert answered.response.content.startswith("Obrigado por responder")
