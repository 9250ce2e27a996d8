"""Languages for the support card, `/about` and `/setup show`.

The card is written in its reader's language (private) or the circle's (a closing message):
our own words from the catalogue, the shipped services' texts from that language's copy of
prompts/resources.toml. A reader whose language a service says it answers in sees that service
first; an English reader sees the file's order. `languages` is read from the shipped file only,
and only shipped language codes pass.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import simcord

from bot.decks import FIXED_FILES, PROMPTS_DIR, DeckError, load_library
from bot.i18n import read_catalogue
from cogs.about import ABOUT_TEXT
from tests.conftest import World
from tests.languages import english_left, everything_in

HOTLINE = "National Human Trafficking Hotline"
SWOP = "SWOP-USA Community Support Line"
RAINN = "RAINN National Sexual Assault Hotline"


def card_text(result: simcord.InteractionResult) -> str:
    return everything_in(result)


def order(text: str) -> list[str]:
    """The shipped services in the order of their entries (after the card's opening lines,
    which name the services that are not police)."""
    entries = text.split("\n\n", 1)[1]
    return sorted([HOTLINE, SWOP, RAINN], key=lambda name: entries.index(f"**{name}**"))


# --- the loader --------------------------------------------------------------------------


def test_shipped_languages_are_read_and_only_the_hotline_states_them() -> None:
    """The hotline's page states English or Spanish; SWOP-USA's and RAINN's don't."""
    for folder in (PROMPTS_DIR, PROMPTS_DIR / "es", PROMPTS_DIR / "pt-BR"):
        by_name = {r.name: r for r in load_library(folder).resources}
        assert by_name[HOTLINE].languages == ("en", "es")
        assert by_name[SWOP].languages == () and by_name[RAINN].languages == ()


def _folder_with(tmp_path: Path, languages: str) -> Path:
    for name in FIXED_FILES:
        shutil.copy(PROMPTS_DIR / name, tmp_path / name)
    (tmp_path / "resources.toml").write_text(
        '[[resources]]\nname = "A line"\ncontact = "555"\nurl = "https://example.org"\n'
        'source = ["https://example.org"]\nchecked = 2026-12-01\npolice = "never"\n'
        f"languages = {languages}\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.mark.parametrize(
    ("languages", "place", "problem"),
    [
        ('["fr"]', "resources[0].languages[0]", "must be a shipped language"),
        ('["es", "es"]', "resources[0].languages[1]", "listed twice"),
        ('"es"', "resources[0].languages", "must be a list"),
        ("[]", "resources[0].languages", "must not be empty"),
    ],
)
def test_bad_languages_are_refused(
    tmp_path: Path, languages: str, place: str, problem: str
) -> None:
    with pytest.raises(DeckError) as caught:
        load_library(_folder_with(tmp_path, languages))
    assert caught.value.place == place
    assert problem in caught.value.problem


def test_good_languages_load(tmp_path: Path) -> None:
    library = load_library(_folder_with(tmp_path, '["pt-BR", "en"]'))
    assert library.resources[0].languages == ("pt-BR", "en")


def test_about_fits_in_a_message_in_every_language() -> None:
    for language in ("es", "pt-BR"):
        assert len(read_catalogue(language).messages[ABOUT_TEXT]) <= 2000


# --- the card ----------------------------------------------------------------------------


async def test_spanish_reader_sees_the_spanish_answering_hotline_first(
    world: World, locales: dict[int, str]
) -> None:
    locales[world.alice.id] = "es-ES"
    shown = await world.alice.slash(world.general, "resources")
    assert shown.ephemeral
    text = card_text(shown)
    assert order(text) == [HOTLINE, SWOP, RAINN]
    assert shown.response.embeds[0].title == "Apoyo"
    assert "*Policía:* Puede compartir con la policía lo que cuentes." in text
    assert "*Idiomas:* inglés, español" in text
    assert "Estados Unidos" in text and "ningún servicio de emergencias" not in text
    assert "Contactar a la moderación" in text
    # Only the hotline states its languages; the others show no languages line.
    assert text.count("*Idiomas:*") == 1
    assert not english_left(text), english_left(text)


async def test_portuguese_reader_gets_the_card_in_portuguese(
    world: World, locales: dict[int, str]
) -> None:
    """No listed service says it answers in Portuguese: the file's order, in Portuguese."""
    locales[world.alice.id] = "pt-BR"
    shown = await world.alice.slash(world.general, "resources")
    text = card_text(shown)
    assert order(text) == [SWOP, HOTLINE, RAINN]
    assert shown.response.embeds[0].title == "Apoio"
    assert "*Idiomas:* inglês, espanhol" in text
    assert "Falar com a moderação" in text
    assert "Conferido com a própria página em 2026-12-01." in text
    assert not english_left(text), english_left(text)


async def test_english_reader_keeps_the_files_order(world: World) -> None:
    shown = await world.bob.slash(world.general, "resources")
    text = card_text(shown)
    assert order(text) == [SWOP, HOTLINE, RAINN]
    assert shown.response.embeds[0].title == "Support"
    assert "*Languages:* English, Spanish" in text
    assert "*Police:* May share what you say with police." in text
    assert "Contact moderators" in text


async def test_server_entries_stay_first_and_their_default_reads_spanish(
    world: World, locales: dict[int, str]
) -> None:
    await world.admin.slash(
        world.general,
        "setup resources add",
        name="Harbour Peer Line",
        contact="0800 000 000",
        police="not-stated",
    )
    locales[world.alice.id] = "es-419"
    text = card_text(await world.alice.slash(world.general, "resources"))
    entries = text.split("\n\n", 1)[1]
    assert entries.index("Harbour Peer Line") < entries.index(HOTLINE) < entries.index(SWOP)
    assert "*Confidencialidad:* No lo indica." in text
    assert "No dice si contacta a la policía." in text
    assert not english_left(text), english_left(text)


# --- /about and /setup show --------------------------------------------------------------


async def test_about_in_spanish_and_english(world: World, locales: dict[int, str]) -> None:
    locales[world.alice.id] = "es-ES"
    spanish = everything_in(await world.alice.slash(world.general, "about"))
    assert "**Qué significa aquí anónimo**" in spanish
    assert not english_left(spanish), english_left(spanish)
    english = everything_in(await world.bob.slash(world.general, "about"))
    assert "**What anonymous really means here**" in english


async def test_spanish_admin_reads_setup_show_in_spanish(
    world: World, locales: dict[int, str]
) -> None:
    locales[world.admin.id] = "es-ES"
    shown = await world.admin.slash(world.general, "setup show")
    text = shown.followups[0].content if shown.followups else everything_in(shown)
    assert "**Configuración de Circlekeeper en este servidor**" in text
    assert "Filtro de entrada: desactivado" in text
    assert not english_left(text), english_left(text)
    saved = await world.admin.slash(world.general, "setup retention", days=30)
    assert saved.response.content.startswith("Guardado: ")
    assert "30 días" in saved.response.content


async def test_every_setup_reply_in_spanish_and_the_log_in_the_servers_language(
    world: World, locales: dict[int, str]
) -> None:
    """A Spanish admin's /setup replies are Spanish; what they change is written to the mod
    log in the server's language: English until `/setup language`, Spanish after."""
    locales[world.admin.id] = "es-ES"
    await world.configure()
    commands: list[tuple[str, dict[str, object]]] = [
        ("setup retention", {"days": 30}),
        ("setup delay", {"max_seconds": 0}),
        ("setup delay", {"max_seconds": 90}),
        ("setup join_gate", {"account_days": 3, "server_days": 2}),
        ("setup join_gate", {"account_days": 0, "server_days": 0}),
        ("setup ping_moderators", {"enabled": True}),
        ("setup contact days", {"days": 5}),
        ("setup contact memory_keyed", {"enabled": True}),
        ("setup filter add", {"word": "zorb*"}),
        ("setup filter list", {}),
        ("setup filter remove", {"word": "zorb*"}),
        ("setup filter list", {}),
        ("setup resources list", {}),
    ]
    for name, options in commands:
        result = await world.admin.slash(world.general, name, **options)
        text = everything_in(result)
        assert text and not english_left(text), (name, text, english_left(text))
    gate = await world.admin.slash(world.general, "setup join_gate", account_days=4)
    assert "menos de 4 días esperan" in everything_in(gate)
    missing = await world.admin.slash(world.general, "setup resources remove", resource_id=99)
    assert everything_in(missing) == "Este servidor no tiene ningún recurso con el id 99."

    logged = [m.content for m in world.modlog.history() if m.content]
    assert any("retention set to 30 days" in line for line in logged), logged
    assert not any("conservación" in line for line in logged), "an English server's log"
    await world.admin.slash(world.general, "setup language", language="es")
    await world.admin.slash(world.general, "setup retention", days=40)
    logged = [m.content for m in world.modlog.history() if m.content]
    assert "conservación: 40 días" in logged[-1], logged[-1]
    assert logged[-2].endswith("idioma: Español"), logged[-2]
    assert not any("younger than" in line or "menos de" in line for line in logged), (
        "the gate's numbers are never logged"
    )
