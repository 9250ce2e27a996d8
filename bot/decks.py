"""Prompt decks and the fixed circle data, loaded from the TOML files in ``prompts/``.

Every ``*.toml`` file in the folder is read. A file with a ``[deck]`` table is a prompt deck; the
four fixed files hold the circle agreements, the weather check-in, the grounding texts and the
shipped support resources, and each of them is required.

Everything is validated when the library loads: required fields, types, lengths, the id pattern,
unknown keys (so a typo is caught instead of silently ignored), and prompt ids that must be unique
across all decks. Any problem raises :class:`DeckError`, whose message names the file, the place
inside it and the problem, for example::

    essay.toml: sessions[1].prompts[3].intensity: must be one of light, moderate, heavy

List positions in those places count from 0, like the lists in the file.

This module is plain Python and never imports discord.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import ENGLISH, N_, shipped_languages, tr

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"

INTENSITIES: tuple[str, ...] = ("light", "moderate", "heavy")
# A prompt's part in its session: an ordinary discussion prompt, a reflective one (looking at
# one's own view, in the style of reflective structured dialogue), or the closing prompt that
# helps people come back to the present.
KINDS: tuple[str, ...] = ("discussion", "reflective", "closing")
ID_PATTERN = re.compile(r"[a-z0-9-]+")
MAX_ID_LENGTH = 64

MAX_PROMPT_TEXT = 1000
MAX_FOLLOW_UPS = 3
MAX_FOLLOW_UP_TEXT = 300
MAX_CONTENT_NOTE = 40
MAX_TITLE = 100
MAX_DESCRIPTION = 500
MAX_SOURCE = 200
MAX_AGREEMENT_SHORT = 100
MAX_AGREEMENT_TEXT = 1000
MAX_HONEST_LIMITS = 1000
MAX_QUESTION = 200
MAX_WEATHER_LABEL = 30
MAX_WEATHER_EMOJI = 16
MAX_WEATHER_OPTIONS = 5  # one row of Discord buttons
MAX_PAUSE_TEXT = 600
MAX_BREAK_STEP = 400
MAX_RESOURCE_NAME = 100
MAX_RESOURCE_CONTACT = 200
MAX_RESOURCE_URL = 500
MAX_RESOURCE_REGION = 100
MAX_RESOURCE_CONFIDENTIALITY = 500
MAX_RESOURCE_ABOUT = 300
MAX_RESOURCE_POLICE_CASES = 300
MAX_RESOURCE_SOURCES = 5

AGREEMENTS_FILE = "agreements.toml"
CHECKIN_FILE = "checkin.toml"
GROUNDING_FILE = "grounding.toml"
RESOURCES_FILE = "resources.toml"
FIXED_FILES: tuple[str, ...] = (AGREEMENTS_FILE, CHECKIN_FILE, GROUNDING_FILE, RESOURCES_FILE)

DEFAULT_CONFIDENTIALITY = N_("Not stated.")

# What a service says about contacting police, shown first on the card in plain words.
POLICE_NEVER = "never"
POLICE_STATED_CASES = "only-in-stated-cases"
POLICE_MAY = "may"
POLICE_NOT_STATED = "not-stated"
POLICE_CHOICES: tuple[str, ...] = (
    POLICE_NEVER,
    POLICE_STATED_CASES,
    POLICE_MAY,
    POLICE_NOT_STATED,
)


# --------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True, slots=True)
class Prompt:
    """One discussion prompt, with the deck and session it belongs to."""

    id: str
    text: str
    follow_ups: tuple[str, ...]
    content_notes: tuple[str, ...]
    intensity: str
    source: str
    deck_id: str
    session_id: str
    kind: str = "discussion"
    argument: str | None = None

    @property
    def is_heavy(self) -> bool:
        """True when the prompt is marked heavy, so its content notes come first."""
        return self.intensity == "heavy"


@dataclass(frozen=True, slots=True)
class Session:
    """A group of prompts meant for one sitting of a circle."""

    id: str
    title: str
    prompts: tuple[Prompt, ...]


@dataclass(frozen=True, slots=True)
class Deck:
    """A deck of prompts read from one file."""

    id: str
    title: str
    description: str
    sessions: tuple[Session, ...]
    path: Path

    def prompts(self) -> tuple[Prompt, ...]:
        """All prompts of the deck, session by session, in file order."""
        return tuple(prompt for session in self.sessions for prompt in session.prompts)


@dataclass(frozen=True, slots=True)
class Agreement:
    """A circle agreement: a short line for the circle card and a plain explanation."""

    id: str
    short: str
    text: str


@dataclass(frozen=True, slots=True)
class Weather:
    """One check-in option (a button)."""

    id: str
    label: str
    emoji: str


@dataclass(frozen=True, slots=True)
class Checkin:
    """The weather-report check-in question and its options."""

    question: str
    weather: tuple[Weather, ...]


@dataclass(frozen=True, slots=True)
class Grounding:
    """Texts posted when a thread is paused, and the private steps of "I need a break"."""

    pause_texts: tuple[str, ...]
    break_title: str
    break_steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resource:
    """A support service. ``url``, ``region``, ``about``, ``police_cases`` and ``checked`` are
    None when not given; ``police`` is one of ``POLICE_CHOICES``; ``source`` lists the pages
    the entry was compared with; ``languages`` the shipped languages it answers in, when its
    pages say."""

    name: str
    contact: str
    url: str | None
    region: str | None
    confidentiality: str
    checked: datetime.date | None
    police: str = POLICE_NOT_STATED
    police_cases: str | None = None
    about: str | None = None
    source: tuple[str, ...] = ()
    # Shipped language codes the service answers in, as its own pages state them; empty when
    # they don't say (and for a server's own entries).
    languages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Library:
    """Everything read from the prompts folder."""

    decks: dict[str, Deck]
    prompts: dict[str, Prompt]
    agreements: tuple[Agreement, ...]
    checkin: Checkin
    grounding: Grounding
    resources: tuple[Resource, ...]
    honest_limits: str = ""

    def deck(self, deck_id: str) -> Deck | None:
        """The deck with this id, or None."""
        return self.decks.get(deck_id)

    def prompt(self, prompt_id: str) -> Prompt | None:
        """The prompt with this id, from any deck, or None."""
        return self.prompts.get(prompt_id)


# --------------------------------------------------------------------------------------------
# Errors


class DeckError(Exception):
    """A prompts file is missing, unreadable or invalid."""

    def __init__(self, file: Path, place: str, problem: str) -> None:
        self.file = file
        self.place = place
        self.problem = problem
        super().__init__(f"{file.name}: {place}: {problem}")


class ResourceError(ValueError):
    """A resource entry is invalid. ``field`` names the offending field, if there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


# --------------------------------------------------------------------------------------------
# Reading helpers


@dataclass(frozen=True, slots=True)
class _Table:
    """A TOML table together with where it sits, so problems can be reported precisely."""

    file: Path
    place: str
    data: Mapping[str, object]

    def at(self, key: str) -> str:
        return f"{self.place}.{key}" if self.place else key

    def error(self, key: str | None, problem: str) -> DeckError:
        return DeckError(self.file, self.at(key) if key else (self.place or "file"), problem)

    def allow(self, *keys: str) -> None:
        """Refuse keys other than ``keys``."""
        for key in self.data:
            if key not in keys:
                raise self.error(key, f"unknown key; expected one of {', '.join(keys)}")

    def text(self, key: str, limit: int) -> str:
        """A required non-empty string of at most ``limit`` characters, stripped."""
        if key not in self.data:
            raise self.error(key, "is required")
        return _check_text(self, key, self.data[key], limit)

    def id(self, key: str = "id") -> str:
        """A required id matching ``ID_PATTERN``."""
        value = self.text(key, MAX_ID_LENGTH)
        if not ID_PATTERN.fullmatch(value):
            raise self.error(key, "must use only lowercase letters, digits and hyphens")
        return value

    def texts(self, key: str, limit: int, *, required: bool = False) -> tuple[str, ...]:
        """A list of non-empty strings; an empty tuple when optional and absent."""
        if key not in self.data:
            if required:
                raise self.error(key, "is required")
            return ()
        value = self.data[key]
        if not isinstance(value, list):
            raise self.error(key, "must be a list of strings")
        items = tuple(
            _check_text(self, f"{key}[{index}]", item, limit) for index, item in enumerate(value)
        )
        if required and not items:
            raise self.error(key, "must not be empty")
        return items

    def table(self, key: str) -> _Table:
        """A required sub-table."""
        value = self.data.get(key)
        if not isinstance(value, dict):
            problem = "is required" if value is None else "must be a table"
            raise self.error(key, problem)
        return _Table(self.file, self.at(key), value)

    def tables(self, key: str, *, required: bool = True) -> list[_Table]:
        """A list of tables (``[[key]]``), each with its own place."""
        if key not in self.data:
            if required:
                raise self.error(key, "is required")
            return []
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(key, f"must be a list of tables, written [[{key}]]")
        return [
            _Table(self.file, f"{self.at(key)}[{index}]", item) for index, item in enumerate(value)
        ]


def _check_text(table: _Table, key: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise table.error(key, "must be a string")
    value = value.strip()
    if not value:
        raise table.error(key, "must not be empty")
    if len(value) > limit:
        raise table.error(key, f"is {len(value)} characters long; the limit is {limit}")
    return value


def _check_unique(tables: Sequence[_Table], ids: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for table, item_id in zip(tables, ids, strict=True):
        if item_id in seen:
            raise table.error("id", f"duplicate {what} id {item_id!r}")
        seen.add(item_id)


def _read_toml(path: Path) -> _Table:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise DeckError(path, "file", "required file is missing") from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = re.search(r"\(at line (\d+)(?:, column \d+)?\)", message)
        if match:
            problem = (message[: match.start()] + message[match.end() :]).strip()
            raise DeckError(path, f"line {match.group(1)}", problem) from None
        if "(at end of document)" in message:
            problem = message.replace("(at end of document)", "").strip()
            raise DeckError(path, "end of file", problem) from None
        raise DeckError(path, "file", message) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DeckError(path, "file", f"cannot be read ({error})") from None
    return _Table(path, "", data)


# --------------------------------------------------------------------------------------------
# Decks


def _parse_prompt(table: _Table, deck_id: str, session_id: str) -> Prompt:
    table.allow(
        "id", "text", "follow_ups", "content_notes", "intensity", "source", "kind", "argument"
    )
    prompt_id = table.id()
    text = table.text("text", MAX_PROMPT_TEXT)
    follow_ups = table.texts("follow_ups", MAX_FOLLOW_UP_TEXT)
    if len(follow_ups) > MAX_FOLLOW_UPS:
        raise table.error(
            "follow_ups", f"has {len(follow_ups)} items; the limit is {MAX_FOLLOW_UPS}"
        )
    content_notes = table.texts("content_notes", MAX_CONTENT_NOTE)
    for index, note in enumerate(content_notes):
        if note != note.lower():
            raise table.error(f"content_notes[{index}]", "must be lowercase")
    intensity = table.text("intensity", MAX_ID_LENGTH)
    if intensity not in INTENSITIES:
        raise table.error("intensity", f"must be one of {', '.join(INTENSITIES)}")
    source = table.text("source", MAX_SOURCE)
    kind = table.text("kind", MAX_ID_LENGTH) if "kind" in table.data else "discussion"
    if kind not in KINDS:
        raise table.error("kind", f"must be one of {', '.join(KINDS)}")
    argument = table.id("argument") if "argument" in table.data else None
    return Prompt(
        id=prompt_id,
        text=text,
        follow_ups=follow_ups,
        content_notes=content_notes,
        intensity=intensity,
        source=source,
        deck_id=deck_id,
        session_id=session_id,
        kind=kind,
        argument=argument,
    )


def _parse_session(table: _Table, deck_id: str) -> Session:
    table.allow("id", "title", "prompts")
    session_id = table.id()
    title = table.text("title", MAX_TITLE)
    prompt_tables = table.tables("prompts", required=False)
    if not prompt_tables:
        raise table.error("prompts", "a session needs at least one prompt")
    prompts = tuple(_parse_prompt(item, deck_id, session_id) for item in prompt_tables)
    return Session(id=session_id, title=title, prompts=prompts)


def _parse_deck(root: _Table) -> Deck:
    root.allow("deck", "sessions")
    header = root.table("deck")
    header.allow("id", "title", "description")
    deck_id = header.id()
    title = header.text("title", MAX_TITLE)
    description = header.text("description", MAX_DESCRIPTION)
    session_tables = root.tables("sessions", required=False)
    if not session_tables:
        raise root.error("sessions", "a deck needs at least one session with prompts")
    sessions = tuple(_parse_session(item, deck_id) for item in session_tables)
    _check_unique(session_tables, [session.id for session in sessions], "session")
    return Deck(id=deck_id, title=title, description=description, sessions=sessions, path=root.file)


def _index_prompts(decks: Sequence[Deck]) -> dict[str, Prompt]:
    """Map every prompt id to its prompt, refusing ids used twice anywhere."""
    index: dict[str, Prompt] = {}
    for deck in decks:
        for session_number, session in enumerate(deck.sessions):
            for prompt_number, prompt in enumerate(session.prompts):
                if prompt.id in index:
                    other = index[prompt.id]
                    place = f"sessions[{session_number}].prompts[{prompt_number}].id"
                    where = "this deck" if other.deck_id == deck.id else f"deck {other.deck_id!r}"
                    raise DeckError(
                        deck.path, place, f"duplicate prompt id {prompt.id!r} (also in {where})"
                    )
                index[prompt.id] = prompt
    return index


def _index_decks(decks: Sequence[Deck]) -> dict[str, Deck]:
    index: dict[str, Deck] = {}
    for deck in decks:
        if deck.id in index:
            other = index[deck.id].path.name
            raise DeckError(deck.path, "deck.id", f"duplicate deck id {deck.id!r} (also {other})")
        index[deck.id] = deck
    return index


# --------------------------------------------------------------------------------------------
# Fixed files


def _parse_honest_limits(root: _Table) -> str:
    """The "honest limits" text shown on the circle card and by /about."""
    return root.table("honest_limits").text("text", MAX_HONEST_LIMITS)


def _parse_agreements(root: _Table) -> tuple[Agreement, ...]:
    root.allow("agreements", "honest_limits")
    tables = root.tables("agreements")
    if not tables:
        raise root.error("agreements", "at least one agreement is required")
    agreements = []
    for table in tables:
        table.allow("id", "short", "text")
        agreements.append(
            Agreement(
                id=table.id(),
                short=table.text("short", MAX_AGREEMENT_SHORT),
                text=table.text("text", MAX_AGREEMENT_TEXT),
            )
        )
    _check_unique(tables, [agreement.id for agreement in agreements], "agreement")
    return tuple(agreements)


def _parse_checkin(root: _Table) -> Checkin:
    root.allow("question", "weather")
    question = root.text("question", MAX_QUESTION)
    tables = root.tables("weather")
    if not tables:
        raise root.error("weather", "at least one weather option is required")
    if len(tables) > MAX_WEATHER_OPTIONS:
        raise root.error(
            "weather",
            f"has {len(tables)} options; at most {MAX_WEATHER_OPTIONS} fit on one row of buttons",
        )
    weather = []
    for table in tables:
        table.allow("id", "label", "emoji")
        weather.append(
            Weather(
                id=table.id(),
                label=table.text("label", MAX_WEATHER_LABEL),
                emoji=table.text("emoji", MAX_WEATHER_EMOJI),
            )
        )
    _check_unique(tables, [option.id for option in weather], "weather")
    return Checkin(question=question, weather=tuple(weather))


def _parse_grounding(root: _Table) -> Grounding:
    root.allow("pause", "break")
    pause = root.table("pause")
    pause.allow("texts")
    pause_texts = pause.texts("texts", MAX_PAUSE_TEXT, required=True)
    breather = root.table("break")
    breather.allow("title", "steps")
    return Grounding(
        pause_texts=pause_texts,
        break_title=breather.text("title", MAX_TITLE),
        break_steps=breather.texts("steps", MAX_BREAK_STEP, required=True),
    )


def _resource_languages(table: _Table) -> tuple[str, ...]:
    """A shipped entry's `languages`: shipped language codes, each once; () when left out."""
    if "languages" not in table.data:
        return ()
    codes = table.texts("languages", MAX_ID_LENGTH, required=True)
    shipped = shipped_languages()
    for index, code in enumerate(codes):
        if code not in shipped:
            raise table.error(
                f"languages[{index}]", f"must be a shipped language, one of {', '.join(shipped)}"
            )
        if code in codes[:index]:
            raise table.error(f"languages[{index}]", f"{code!r} is listed twice")
    return codes


def _parse_shipped_resources(root: _Table) -> tuple[Resource, ...]:
    root.allow("resources")
    resources = []
    for table in root.tables("resources"):
        languages = _resource_languages(table)
        data = {key: value for key, value in table.data.items() if key != "languages"}
        try:
            resource = parse_resource(data, table.place)
        except ResourceError as error:
            raise table.error(error.field, str(error)) from None
        resource = dataclasses.replace(resource, languages=languages)
        if resource.url is None or not resource.url.startswith("https://"):
            raise table.error("url", "a shipped resource needs the https:// page it was checked on")
        if resource.checked is None:
            raise table.error("checked", "a shipped resource needs the date it was checked")
        if "police" not in table.data:
            raise table.error("police", "a shipped resource must say what it says about police")
        if not resource.source or not all(s.startswith("https://") for s in resource.source):
            raise table.error(
                "source", "a shipped resource needs the https:// pages it was checked on"
            )
        resources.append(resource)
    return tuple(resources)


# --------------------------------------------------------------------------------------------
# Resources (shared with /setup resources)

_RESOURCE_FIELDS = (
    "name",
    "contact",
    "url",
    "region",
    "confidentiality",
    "checked",
    "police",
    "police_cases",
    "about",
    "source",
)


def _resource_required(data: Mapping[str, object], field: str, limit: int, missing: str) -> str:
    """A required text field; ``missing`` is the plain-words message when it is absent."""
    value = _resource_optional(data, field, limit)
    if value is None:
        raise ResourceError(missing, field)
    return value


def _resource_optional(data: Mapping[str, object], field: str, limit: int) -> str | None:
    """An optional text field, stripped; None when absent or blank."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ResourceError(f"A resource's {field} must be text.", field)
    value = value.strip()
    if len(value) > limit:
        raise ResourceError(
            f"A resource's {field} is {len(value)} characters long; the limit is {limit}.", field
        )
    return value or None


def _resource_date(value: object) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        raise ResourceError(
            "The checked date must be a date without a time, like 2026-11-28.", "checked"
        )
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ResourceError("The checked date must be a date like 2026-11-28.", "checked")


def _resource_police(data: Mapping[str, object]) -> tuple[str, str | None]:
    police = _resource_optional(data, "police", MAX_ID_LENGTH) or POLICE_NOT_STATED
    if police not in POLICE_CHOICES:
        raise ResourceError(
            f"The police choice must be one of {', '.join(POLICE_CHOICES)}.", "police"
        )
    cases = _resource_optional(data, "police_cases", MAX_RESOURCE_POLICE_CASES)
    if police == POLICE_STATED_CASES and cases is None:
        raise ResourceError(
            "Say in which cases the service contacts police or authorities "
            "(for example: a credible threat to someone else, suspected child abuse).",
            "police_cases",
        )
    return police, cases if police == POLICE_STATED_CASES else None


def _resource_sources(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ResourceError(
            "A resource's source must be a web address or a list of them.", "source"
        )
    sources = tuple(item.strip() for item in items if item.strip())
    if len(sources) > MAX_RESOURCE_SOURCES:
        raise ResourceError(
            f"A resource lists at most {MAX_RESOURCE_SOURCES} source pages.", "source"
        )
    for source in sources:
        if len(source) > MAX_RESOURCE_URL or not source.startswith(("https://", "http://")):
            raise ResourceError(
                "Each source must be a web address starting with https:// or http://.", "source"
            )
    return sources


def police_words(resource: Resource, language: str = ENGLISH) -> str:
    """What the service says about police, in plain words and in `language`, for the top of
    its card entry (the stated cases as the entry gives them)."""
    if resource.police == POLICE_NEVER:
        return tr(language, "Says it never contacts police or other authorities.")
    if resource.police == POLICE_STATED_CASES:
        return tr(
            language,
            "Says it contacts police or authorities only: {cases}",
            cases=resource.police_cases,
        )
    if resource.police == POLICE_MAY:
        return tr(language, "May share what you say with police.")
    return tr(language, "Does not say whether it contacts police. Ask before sharing details.")


def parse_resource(data: Mapping[str, object], place: str = "resource") -> Resource:
    """Validate one resource entry and return it.

    Only ``name`` and ``contact`` are required. ``url`` (http or https), ``region``,
    ``about``, ``source`` (pages, one or a list) and ``checked`` (a date, or text like
    ``2026-11-28``) may be left out; ``confidentiality`` defaults to ``"Not stated."`` and
    ``police`` to ``not-stated`` (``only-in-stated-cases`` needs ``police_cases``).
    Raises :class:`ResourceError`, a ``ValueError`` whose message
    names the missing or bad field in plain words; ``place`` is only used for unknown keys.
    """
    for key in data:
        if key not in _RESOURCE_FIELDS:
            raise ResourceError(
                f"Unknown field {key!r} in {place}; expected one of {', '.join(_RESOURCE_FIELDS)}.",
                key,
            )
    name = _resource_required(data, "name", MAX_RESOURCE_NAME, "A resource needs a name.")
    contact = _resource_required(
        data,
        "contact",
        MAX_RESOURCE_CONTACT,
        "A resource needs a contact (phone, text or web address).",
    )
    url = _resource_optional(data, "url", MAX_RESOURCE_URL)
    if url is not None and not url.startswith(("https://", "http://")):
        raise ResourceError("A resource's web page must start with https:// or http://.", "url")
    police, police_cases = _resource_police(data)
    return Resource(
        name=name,
        contact=contact,
        url=url,
        region=_resource_optional(data, "region", MAX_RESOURCE_REGION),
        confidentiality=(
            _resource_optional(data, "confidentiality", MAX_RESOURCE_CONFIDENTIALITY)
            or DEFAULT_CONFIDENTIALITY
        ),
        checked=_resource_date(data.get("checked")),
        police=police,
        police_cases=police_cases,
        about=_resource_optional(data, "about", MAX_RESOURCE_ABOUT),
        source=_resource_sources(data.get("source")),
    )


# --------------------------------------------------------------------------------------------
# Loading


def load_library(directory: Path = PROMPTS_DIR) -> Library:
    """Read and validate every ``*.toml`` file in ``directory``.

    Raises :class:`DeckError` for the first problem found.
    """
    if not directory.is_dir():
        raise DeckError(directory, "folder", "the prompts folder does not exist")
    fixed: dict[str, _Table] = {}
    decks: list[Deck] = []
    for path in sorted(directory.glob("*.toml")):
        root = _read_toml(path)
        if path.name in FIXED_FILES:
            fixed[path.name] = root
        elif "deck" in root.data:
            decks.append(_parse_deck(root))
        else:
            raise DeckError(
                path,
                "file",
                "not a deck (it has no [deck] table) and not one of " + ", ".join(FIXED_FILES),
            )
    for name in FIXED_FILES:
        if name not in fixed:
            raise DeckError(directory / name, "file", "required file is missing")
    return Library(
        decks=_index_decks(decks),
        prompts=_index_prompts(decks),
        agreements=_parse_agreements(fixed[AGREEMENTS_FILE]),
        checkin=_parse_checkin(fixed[CHECKIN_FILE]),
        grounding=_parse_grounding(fixed[GROUNDING_FILE]),
        resources=_parse_shipped_resources(fixed[RESOURCES_FILE]),
        honest_limits=_parse_honest_limits(fixed[AGREEMENTS_FILE]),
    )


def load_libraries(languages: Sequence[str], directory: Path = PROMPTS_DIR) -> dict[str, Library]:
    """Every language's library: English from ``directory``, each other language from the
    folder of its name inside it (``prompts/es/``). A language without a folder has none, and
    readers fall back to English. Raises :class:`DeckError` for the first problem found."""
    libraries = {"en": load_library(directory)}
    for language in languages:
        if language != "en" and (directory / language).is_dir():
            libraries[language] = load_library(directory / language)
    return libraries
