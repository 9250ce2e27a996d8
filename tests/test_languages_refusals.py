"""Refusals in the reader's language: what services turn down, and the layer's error replies.

A refusal keeps its English template and values; the Discord layer fills in the translation
for the member's own client. Field names the bot gives as values ("Your message") are
translated with it; members' own words (a circle's name, a poll choice) never are.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import simcord
from discord import app_commands

import bot.services
from bot.i18n import N_, Phrase, tr
from bot.layer.errors import describe_error, refusal_text
from bot.services import circles, config, polls, structure, textchecks
from bot.services.errors import Refusal
from tests.conftest import World
from tests.languages import english_left, everything_in
from tests.test_automod import keyword_rule
from tests.test_circles import join, open_circle
from tests.test_moderation import mod_command

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "bot" / "services"


def said(result: simcord.InteractionResult) -> str:
    assert result.ephemeral, result.response
    assert result.response is not None
    return result.response.content or ""


async def spanish_join(member: simcord.MemberActor, card: object) -> None:
    """Join an English circle from a Spanish client: the card is the circle's, the
    agreements reply is the member's."""
    shown = await member.click(card, label="Join")
    await member.click(shown.response.message, label="Acepto")


async def test_a_spanish_keeper_and_member_read_refusals_in_spanish(
    world: World, locales: dict[int, str]
) -> None:
    locales[world.mod.id] = "es-ES"
    locales[world.carol.id] = "es-419"
    thread, card = await open_circle(world, "Tuesday circle")
    await join(world, world.alice, card)
    await spanish_join(world.carol, card)
    replies: list[simcord.InteractionResult] = []

    # A name too long, and one already taken: the name stays exactly as the keeper wrote it,
    # English-looking words and capitals included.
    too_long = await world.mod.slash(world.general, "circle create", name="x" * 81)
    assert said(too_long) == "El nombre de un círculo puede tener como máximo 80 caracteres."
    taken = await world.mod.slash(world.general, "circle create", name="TUESDAY circle")
    assert said(taken) == "Ya hay un círculo abierto llamado “TUESDAY circle”."
    replies += [too_long, taken]

    # A turn length out of range, and a poll with a choice given twice (the choice as written).
    turn = await world.mod.slash(thread, "circle round start", turn_minutes=31)
    assert said(turn) == "Cada turno puede durar de 1 a 30 minutos."
    assert await structure.get_round(world.db, (await circle_of(world, thread)).id) is None
    poll = await world.mod.slash(
        thread, "circle poll", question="¿Cuándo nos vemos?", options="Yes | Later | yes"
    )
    assert said(poll) == "“Yes” aparece dos veces; cada opción tiene que ser distinta."
    assert await world.db.fetchval("SELECT count(*) FROM polls") == 0
    replies += [turn, poll]

    # A field name given as a value is ours, so it is translated with the sentence.
    shown = await world.carol.slash(thread, "anon post")
    note = await world.carol.submit_modal(
        shown, {"message": "Hola a todas.", "content_note": "aviso\u200bfuerte"}
    )
    assert said(note).startswith("El aviso de contenido: contiene caracteres invisibles")
    replies.append(note)

    # A missing permission: a member who is not a moderator, shown /mod by a server override.
    world.guild.set_command_permissions(await mod_command(world), {world.carol: True})
    not_moderator = await world.carol.slash(world.general, "mod queue")
    assert said(not_moderator) == "Solo las personas de moderación pueden hacer eso."
    not_keeper = await world.carol.slash(thread, "circle round start")
    assert said(not_keeper) == (
        "Solo las personas guardianas de este círculo o alguien de moderación pueden hacer eso."
    )
    replies += [not_moderator, not_keeper]

    for result in replies:
        assert not english_left(everything_in(result)), everything_in(result)


async def test_an_english_member_reads_the_same_refusals_in_english(
    world: World, locales: dict[int, str]
) -> None:
    locales[world.carol.id] = "es-ES"  # someone else's client changes nothing for them
    thread, card = await open_circle(world, "Tuesday circle")
    await join(world, world.alice, card)

    too_long = await world.mod.slash(world.general, "circle create", name="x" * 81)
    assert said(too_long) == "Circle names can be at most 80 characters."
    taken = await world.mod.slash(world.general, "circle create", name="TUESDAY circle")
    assert said(taken) == "There is already an open circle called “TUESDAY circle”."
    turn = await world.mod.slash(thread, "circle round start", turn_minutes=31)
    assert said(turn) == "Each turn can last from 1 to 30 minutes."
    poll = await world.mod.slash(
        thread, "circle poll", question="When?", options="Sí | Más tarde | sí"
    )
    assert said(poll) == "“Sí” is there twice; each choice must be different."
    shown = await world.alice.slash(thread, "anon post")
    note = await world.alice.submit_modal(
        shown, {"message": "Hello all.", "content_note": "heavy\u200btopic"}
    )
    assert said(note).startswith("The content note contains invisible characters")
    world.guild.set_command_permissions(await mod_command(world), {world.alice: True})
    not_moderator = await world.alice.slash(world.general, "mod queue")
    assert said(not_moderator) == "Only moderators can do that."


async def circle_of(world: World, thread: simcord.ChannelHandle) -> circles.Circle:
    circle = await circles.circle_for_thread(world.db, thread.id)
    assert circle is not None
    return circle


# --- the refusal itself ----------------------------------------------------------------------


def test_a_refusal_keeps_its_template_and_reads_as_finished_english() -> None:
    with pytest.raises(config.OutOfRange) as refused:
        config._check_range(0, config.RETENTION_RANGE, N_("Retention days"))
    error = refused.value
    assert error.message == "Retention days must be between 1 and 365."
    assert str(error) == error.message
    assert error.template == "{what} must be between {low} and {high}."
    assert refusal_text("en", error) == error.message
    assert refusal_text("es", error) == "Los días de conservación: tiene que estar entre 1 y 365."
    assert refusal_text("pt-BR", error) == "Os dias de retenção: precisa estar entre 1 e 365."
    # A locale we do not ship reads English.
    assert refusal_text("fr", error) == error.message


def test_members_words_are_never_translated_even_when_they_match_ours() -> None:
    """A circle called "Your message" is a member's name, not our text."""
    assert tr("es", "Your message") == "Tu mensaje"
    error = circles.CircleError(
        N_("There is already an open circle called “{name}”."), name="Your message"
    )
    assert refusal_text("es", error) == "Ya hay un círculo abierto llamado “Your message”."
    with pytest.raises(polls.PollError) as refused:
        polls.parse_options("Your message | Later | your message")
    assert refusal_text("es", refused.value) == (
        "“Your message” aparece dos veces; cada opción tiene que ser distinta."
    )
    # Ours, given as a Phrase, is translated.
    ours = circles.CircleError(N_("{what} is empty. Please write a few words."), what=Phrase("x"))
    assert refusal_text("es", ours).startswith("x: no hay nada escrito")


def test_a_refusal_made_again_from_another_keeps_its_words() -> None:
    """The anonymous posts' InvalidText is built from the shared text checks' one."""
    from bot.services import anonymous as anon

    with pytest.raises(anon.InvalidText) as refused:
        anon.clean_text("   ", what=N_("The content note"))
    assert refused.value.message == "The content note is empty. Please write something first."
    assert refusal_text("es", refused.value) == (
        "El aviso de contenido: no hay nada escrito. Escribe algo primero."
    )
    with pytest.raises(textchecks.InvalidText):
        textchecks.clean_text("", what=N_("Your message"))


def test_the_layers_own_error_replies_follow_the_language() -> None:
    missing = app_commands.MissingPermissions(["manage_guild", "manage_threads"])
    assert describe_error(missing) == (
        "You need the Manage Server, Manage Threads permission for this.",
        None,
    )
    assert describe_error(missing, "es")[0] == (
        "Para esto necesitas el permiso Gestionar servidor, Gestionar hilos."
    )
    bot_missing = app_commands.BotMissingPermissions(["create_private_threads"])
    assert describe_error(bot_missing, "pt-BR")[0].startswith(
        "Aqui me falta a permissão Criar tópicos privados."
    )
    message, error_id = describe_error(RuntimeError("boom"), "es")
    assert error_id is not None
    assert message.startswith(f"Algo salió mal (código de error {error_id}).")
    assert "boom" not in message
    message, _ = describe_error(app_commands.NoPrivateMessage(), "es")
    assert message == "Este comando solo funciona dentro de un servidor."
    assert describe_error(circles.CircleError(N_("A circle needs a name.")), "es") == (
        "Un círculo necesita un nombre.",
        None,
    )


# --- every refusal a service raises is marked ------------------------------------------------


def refusal_names() -> set[str]:
    """Every Refusal subclass defined in the services, by class name."""
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(bot.services.__path__, "bot.services."):
        importlib.import_module(module.name)
    names: set[str] = set()
    pending: list[type] = [Refusal]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending += cls.__subclasses__()
    return names


def _is_text(node: ast.expr) -> bool:
    """A string literal or f-string, on either side of `a if x else b`."""
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) or _is_text(node.orelse)
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def unmarked_refusals(source: str, names: set[str]) -> list[int]:
    """Lines where a refusal is raised (or a refusal class passes its words on) with a text
    that is not `N_(...)`."""
    lines: list[int] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        calls: list[ast.Call] = []
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            calls.append(node.exc)
        elif isinstance(node, ast.ClassDef) and any(
            getattr(base, "id", getattr(base, "attr", None)) in names for base in node.bases
        ):
            calls += [
                call
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "__init__"
            ]
            # Default words in a refusal's own signature are shown as they are too.
            for function in ast.walk(node):
                if isinstance(function, ast.FunctionDef):
                    lines += [d.lineno for d in function.args.defaults if _is_text(d)]
        for call in calls:
            name = getattr(call.func, "id", getattr(call.func, "attr", None))
            if name not in names and name != "__init__":
                continue
            lines += [arg.lineno for arg in call.args[:1] if _is_text(arg)]
    return sorted(lines)


def test_the_check_finds_unmarked_refusals() -> None:
    names = {"Refusal", "CircleError"}
    source = (
        "class Late(CircleError):\n"
        "    def __init__(self, message='Too late.'):\n"
        "        super().__init__('Too late now.')\n"
        "raise CircleError('Plain words.')\n"
        "raise CircleError(f'Hello {name}.')\n"
        "raise CircleError('a' if x else N_('b'))\n"
        "raise CircleError(N_('Marked.'))\n"
        "raise CircleError(N_('Marked {name}.'), name=name)\n"
        "raise ValueError('internal, never shown')\n"
        "raise CircleError(error.template, **error.values)\n"
    )
    assert unmarked_refusals(source, names) == [2, 3, 4, 5, 6]


def test_every_refusal_a_service_raises_is_marked() -> None:
    names = refusal_names()
    assert {"CircleError", "PollError", "StructureError", "OutOfRange", "NotFound"} <= names
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(SERVICES.rglob("*.py"))
        for line in unmarked_refusals(path.read_text(encoding="utf-8"), names)
    }
    assert not found, f"mark these with N_(...) and pass values as keywords: {sorted(found)}"


async def test_a_server_rule_stops_a_poll_in_the_keepers_language(
    world: World, locales: dict[int, str]
) -> None:
    """The rule's own message is the server's words, shown as its moderators wrote them; the
    rest of the refusal is ours, in Spanish."""
    locales[world.mod.id] = "es-ES"
    world.env.backend.create_auto_mod_rule(world.guild.id, world.admin.id, keyword_rule())
    thread, card = await open_circle(world, "Tuesday circle")
    await join(world, world.alice, card)
    poll = await world.mod.slash(
        thread, "circle poll", question="Meet on zorblat day?", options="Yes|No"
    )
    assert said(poll) == (
        "Please keep zorblat out.\n\nNo se publicó nada; puedes editar tu mensaje.\n"
        "No se guardó nada: cambia la encuesta e inténtalo de nuevo."
    )
    assert await world.db.fetchval("SELECT count(*) FROM polls") == 0
