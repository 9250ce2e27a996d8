"""Tests for the prompt decks and fixed circle data in prompts/, and for their loader."""

from __future__ import annotations

import datetime
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from bot.decks import (
    FIXED_FILES,
    INTENSITIES,
    POLICE_CHOICES,
    PROMPTS_DIR,
    DeckError,
    Library,
    load_library,
    parse_resource,
    police_words,
)

VALID_DECK = """\
[deck]
id = "tiny"
title = "Tiny deck"
description = "A deck for tests."

[[sessions]]
id = "only"
title = "Only session"

[[sessions.prompts]]
id = "tiny-01"
text = "What would make this space feel safe for you?"
content_notes = []
intensity = "light"
source = "test"

[[sessions.prompts]]
id = "tiny-02"
text = "What would you change about it?"
intensity = "moderate"
source = "test"
"""

# Phrases that ask someone to disclose whether they do sex work or have survived trafficking.
DISCLOSURE_PATTERNS = [
    r"\b(are|were) you (a|an)\b",
    r"\bare you (still )?(working|in the)\b",
    r"\bhave you (ever )?been (trafficked|a sex worker|exploited)\b",
    r"\bdid you (ever )?(work|sell|do sex work)\b",
    r"\bdo you (still )?(work|sell|do sex work)\b",
    r"\bhave you (ever )?(worked|sold|done sex work)\b",
]


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library()


def make_folder(tmp_path: Path, deck_text: str, name: str = "broken.toml") -> Path:
    """A prompts folder holding copies of the shipped fixed files plus one deck."""
    for fixed in FIXED_FILES:
        shutil.copy(PROMPTS_DIR / fixed, tmp_path / fixed)
    (tmp_path / name).write_text(deck_text, encoding="utf-8")
    return tmp_path


def load_error(folder: Path) -> DeckError:
    with pytest.raises(DeckError) as caught:
        load_library(folder)
    return caught.value


# ---------------------------------------------------------------------------------------------
# The shipped library


def test_shipped_library_loads(library: Library) -> None:
    """The files in prompts/ load without errors and include the essay deck."""
    assert library.deck("essay") is not None
    assert library.deck("no-such-deck") is None
    assert library.prompt("essay-01") is not None
    assert library.prompt("no-such-prompt") is None


def test_essay_deck_size(library: Library) -> None:
    """The essay deck keeps at least 5 sessions and 24 prompts."""
    deck = library.decks["essay"]
    assert len(deck.sessions) >= 5
    assert len(deck.prompts()) >= 24
    assert all(session.prompts for session in deck.sessions)


def test_essay_prompts_are_complete(library: Library) -> None:
    """Every essay prompt has an id, a known intensity, a source and text within 600 chars."""
    for prompt in library.decks["essay"].prompts():
        assert re.fullmatch(r"[a-z0-9-]+", prompt.id)
        assert prompt.intensity in INTENSITIES
        assert prompt.source.strip()
        assert 0 < len(prompt.text) <= 600, prompt.id
        assert len(prompt.follow_ups) <= 3, prompt.id
        assert prompt.deck_id == "essay"


def test_prompt_ids_unique(library: Library) -> None:
    """No prompt id is used twice across all shipped decks."""
    ids = [prompt.id for deck in library.decks.values() for prompt in deck.prompts()]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(library.prompts)


def test_heavy_prompts_carry_content_notes(library: Library) -> None:
    """A prompt marked heavy always has content notes to show before it."""
    for prompt in library.prompts.values():
        if prompt.is_heavy:
            assert prompt.content_notes, prompt.id


def test_essay_covers_each_assumption(library: Library) -> None:
    """Each of the five assumptions the essay names has at least one prompt."""
    sources = " ".join(prompt.source for prompt in library.decks["essay"].prompts())
    for number in range(1, 6):
        assert f"assumption {number}:" in sources


def test_essay_opens_gently(library: Library) -> None:
    """The first session opens with light prompts and the deck does not start heavy."""
    first = library.decks["essay"].sessions[0]
    assert all(prompt.intensity == "light" for prompt in first.prompts)


def test_no_prompt_asks_for_disclosure(library: Library) -> None:
    """No prompt or follow-up asks whether someone is a sex worker or a survivor (a guard)."""
    for prompt in library.prompts.values():
        for text in (prompt.text, *prompt.follow_ups):
            for pattern in DISCLOSURE_PATTERNS:
                assert not re.search(pattern, text, re.IGNORECASE), (prompt.id, text)


def test_default_agreements_in_order(library: Library) -> None:
    """The default agreements ship in the agreed order with card-sized short lines."""
    assert [agreement.id for agreement in library.agreements] == [
        "confidentiality",
        "no-screenshots",
        "own-experience",
        "pass",
        "no-advice",
        "no-outing",
        "no-advertising",
        "name-your-own-experience",
        "ideas-not-lives",
        "content-notes",
        "nothing-taken-elsewhere",
    ]
    assert all(len(agreement.short) <= 100 for agreement in library.agreements)


def test_checkin_fits_one_button_row(library: Library) -> None:
    """The weather check-in has exactly 5 options with short labels."""
    assert len(library.checkin.weather) == 5
    assert all(len(option.label) <= 30 for option in library.checkin.weather)


def test_break_steps_say_you_can_leave(library: Library) -> None:
    """The private break steps tell people they can leave or mute with no explanation."""
    grounding = library.grounding
    assert 3 <= len(grounding.pause_texts) <= 5
    assert 4 <= len(grounding.break_steps) <= 6
    steps = " ".join(grounding.break_steps).lower()
    assert "leave" in steps and "mute" in steps and "no explanation" in steps


def test_shipped_resources_are_sourced(library: Library) -> None:
    """Every shipped resource has a police choice, a contact, its source pages and a date."""
    raw = tomllib.loads((PROMPTS_DIR / "resources.toml").read_text(encoding="utf-8"))
    assert len(raw["resources"]) == len(library.resources) >= 3
    for entry, resource in zip(raw["resources"], library.resources, strict=True):
        assert entry["police"] in POLICE_CHOICES, resource.name
        assert "checked" in entry and isinstance(resource.checked, datetime.date), resource.name
        assert entry["contact"].strip() and resource.contact.strip(), resource.name
        assert resource.source and all(s.startswith("https://") for s in resource.source)
        assert resource.url is not None and resource.url.startswith("https://"), resource.name
        assert resource.confidentiality.strip(), resource.name
        if resource.police == "only-in-stated-cases":
            assert resource.police_cases, resource.name


def test_trafficking_hotline_entry_is_current(library: Library) -> None:
    """The hotline entry no longer names Polaris as operator and says it may share with police."""
    hotline = next(r for r in library.resources if "Trafficking Hotline" in r.name)
    assert hotline.police == "may"
    assert "operated by Polaris" not in hotline.name
    assert hotline.about and "Compass Connections" in hotline.about
    assert "law enforcement" in hotline.about


def test_shipped_resource_without_police_refused(tmp_path: Path) -> None:
    """A shipped entry that doesn't say what the service says about police is refused."""
    folder = make_folder(tmp_path, VALID_DECK)
    (folder / "resources.toml").write_text(
        '[[resources]]\nname = "A line"\ncontact = "555"\nurl = "https://example.org"\n'
        'source = ["https://example.org"]\nchecked = 2026-12-01\n',
        encoding="utf-8",
    )
    error = load_error(folder)
    assert error.place == "resources[0].police"


def test_stated_cases_need_the_cases() -> None:
    """ "Only in stated cases" is refused without the cases, and the card says them."""
    with pytest.raises(ValueError, match="in which cases"):
        parse_resource({"name": "X", "contact": "Y", "police": "only-in-stated-cases"})
    resource = parse_resource(
        {
            "name": "X",
            "contact": "Y",
            "police": "only-in-stated-cases",
            "police_cases": "a credible threat to someone else",
        }
    )
    assert "a credible threat to someone else" in police_words(resource)
    with pytest.raises(ValueError, match="police choice"):
        parse_resource({"name": "X", "contact": "Y", "police": "sometimes"})


# ---------------------------------------------------------------------------------------------
# The rules every deck follows

ATTRIBUTION = re.compile(
    r"\bthe essay(?:'s author)?\b[^.?]*?\b(argues|says|describes|questions|compares|offers|"
    r"draws|ends|holds|calls|sees)\b|\bthe essay's author\b",
    re.IGNORECASE,
)
NOTE_RULES = {
    "violence": (r"(?<!anti-)violen|abus|assault|\brape", ("violence",)),
    "policing": (
        r"\bpolice|\bpolicing|law enforcement|\barrest|\bstings?\b|\braids?\b",
        ("policing",),
    ),
    "immigration": (r"immigra", ("immigration",)),
    "coercion": (r"coerc|\bforced?\b", ("coercion",)),
}
ESSAY_ARGUMENTS = (
    "thesis-safety-is-prevention",
    "queer-and-trans-voices",
    "collaborate-but-not-with-conflation",
    "banner-organisations",
    "split-political-and-racialised",
    "assumption-4-minimise-end-demonise",
    "conflation-redirects-resources",
    "coming-forward-test",
    "missing-space-to-name-harm",
)


def test_every_session_opens_light_and_closes(library: Library) -> None:
    """Every session of every deck opens light and ends with a light closing prompt."""
    for deck in library.decks.values():
        for session in deck.sessions:
            assert session.prompts[0].intensity == "light", (deck.id, session.id)
            last = session.prompts[-1]
            assert last.kind == "closing" and not last.is_heavy, (deck.id, session.id)


def test_never_more_than_two_heavy_in_a_row(library: Library) -> None:
    """No deck has three heavy prompts in a row, within a session or across a boundary."""
    for deck in library.decks.values():
        run = 0
        for prompt in deck.prompts():
            run = run + 1 if prompt.is_heavy else 0
            assert run <= 2, (deck.id, prompt.id)


def test_every_essay_session_has_a_reflective_prompt(library: Library) -> None:
    """Each session of the essay deck has one prompt in reflective structured dialogue style."""
    for session in library.decks["essay"].sessions:
        reflective = [p for p in session.prompts if p.kind == "reflective"]
        assert len(reflective) == 1, session.id
        assert "unsure" in reflective[0].text or "pulled two ways" in reflective[0].text


def test_content_notes_match_the_text(library: Library) -> None:
    """Text naming violence, policing, immigration or coercion carries a matching note."""
    for prompt in library.prompts.values():
        words = " ".join((prompt.text, *prompt.follow_ups)).lower()
        notes = " ".join(prompt.content_notes)
        for topic, (pattern, needed) in NOTE_RULES.items():
            if re.search(pattern, words):
                assert any(n in notes for n in needed), (prompt.id, topic)


def test_essay_arguments_are_attributed(library: Library) -> None:
    """A prompt carrying one of the essay's arguments says so ("The essay argues …")."""
    for prompt in library.decks["essay"].prompts():
        if prompt.argument is not None:
            assert ATTRIBUTION.search(prompt.text), prompt.id


def test_essay_carries_each_missing_argument(library: Library) -> None:
    """The arguments the deck once lacked each have at least one prompt."""
    carried = {p.argument for p in library.decks["essay"].prompts()}
    for argument in ESSAY_ARGUMENTS:
        assert argument in carried, argument
    text = library.prompts["essay-05"].text.lower()
    assert "racial bias" in text  # in the text people read, not only in `source`


def test_rewritten_prompts_say_what_the_essay_says(library: Library) -> None:
    """The wording fixed for faithfulness and for leading or disclosing questions stays fixed."""
    prompts = library.prompts
    assert "minimising, ending or demonising" in prompts["essay-08"].text
    assert "these assumptions" not in prompts["essay-09"].text
    assert "criminal records" not in prompts["essay-22"].text
    assert "connected to this" in prompts["essay-01"].text
    assert "may be in the room" in prompts["essay-13"].text
    assert "your community" not in prompts["essay-20"].text
    for prompt_id in ("essay-05", "essay-19"):
        follow_ups = " ".join(prompts[prompt_id].follow_ups).lower()
        assert "benefit" not in follow_ups and "hides" not in follow_ups, prompt_id
    assert "who gains" not in prompts["essay-14"].text.lower()
    assert "immigration" in " ".join(prompts["essay-15"].content_notes)
    assert "policing" not in prompts["essay-26"].content_notes


def test_grounding_is_invitation_with_a_non_body_option(library: Library) -> None:
    """No grounding text opens with an order, and each set offers a non-body option."""
    grounding = library.grounding
    commands = re.compile(r"^(notice|breathe|look|try|take|name|go)\b", re.IGNORECASE)
    for text in (*grounding.pause_texts, *grounding.break_steps):
        assert not commands.match(text.strip()), text
    for texts in (grounding.pause_texts, grounding.break_steps):
        joined = " ".join(texts).lower()
        assert "date" in joined and "sound" in joined


def test_honest_limits_text_is_shipped(library: Library) -> None:
    """The honest-limits text says keepers are peers and to leave out names, places and dates."""
    limits = library.honest_limits
    assert "not a crisis service" in limits
    assert "names, places and dates" in limits


# ---------------------------------------------------------------------------------------------
# Broken decks are refused with file name and place


def test_valid_test_deck_loads(tmp_path: Path) -> None:
    """The minimal deck used below is valid, so each broken variant fails for its own reason."""
    library = load_library(make_folder(tmp_path, VALID_DECK))
    deck = library.decks["tiny"]
    assert [prompt.id for prompt in deck.prompts()] == ["tiny-01", "tiny-02"]
    assert deck.prompts()[1].content_notes == ()
    assert deck.path.name == "broken.toml"


def test_bad_intensity_refused(tmp_path: Path) -> None:
    """An intensity outside light/moderate/heavy is refused at its place."""
    text = VALID_DECK.replace('intensity = "moderate"', 'intensity = "extreme"')
    error = load_error(make_folder(tmp_path, text))
    assert error.file.name == "broken.toml"
    assert error.place == "sessions[0].prompts[1].intensity"
    assert str(error) == (
        "broken.toml: sessions[0].prompts[1].intensity: must be one of light, moderate, heavy"
    )


def test_duplicate_prompt_id_refused(tmp_path: Path) -> None:
    """Two prompts with the same id in one deck are refused."""
    text = VALID_DECK.replace('id = "tiny-02"', 'id = "tiny-01"')
    error = load_error(make_folder(tmp_path, text))
    assert str(error).startswith("broken.toml: sessions[0].prompts[1].id: duplicate prompt id")


def test_duplicate_prompt_id_across_decks_refused(tmp_path: Path) -> None:
    """A prompt id already used by another deck is refused."""
    folder = make_folder(tmp_path, VALID_DECK, name="a.toml")
    other = VALID_DECK.replace('id = "tiny"', 'id = "other"').replace("tiny-02", "other-02")
    (folder / "b.toml").write_text(other, encoding="utf-8")
    error = load_error(folder)
    assert error.file.name == "b.toml"
    assert error.place == "sessions[0].prompts[0].id"
    assert "'tiny-01'" in error.problem


def test_missing_text_refused(tmp_path: Path) -> None:
    """A prompt without text is refused."""
    text = VALID_DECK.replace('text = "What would you change about it?"\n', "")
    error = load_error(make_folder(tmp_path, text))
    assert str(error) == "broken.toml: sessions[0].prompts[1].text: is required"


def test_blank_text_refused(tmp_path: Path) -> None:
    """A prompt whose text is only whitespace is refused."""
    text = VALID_DECK.replace('"What would you change about it?"', '"   "')
    error = load_error(make_folder(tmp_path, text))
    assert error.place == "sessions[0].prompts[1].text"


def test_unknown_key_refused(tmp_path: Path) -> None:
    """A misspelt key is refused instead of being silently ignored."""
    text = VALID_DECK.replace("content_notes = []", 'content_note = ["policing"]')
    error = load_error(make_folder(tmp_path, text))
    assert error.file.name == "broken.toml"
    assert error.place == "sessions[0].prompts[0].content_note"
    assert error.problem.startswith("unknown key")


def test_toml_syntax_error_refused(tmp_path: Path) -> None:
    """A TOML syntax error is reported with the file name and line."""
    text = VALID_DECK.replace('title = "Only session"', "title = Only session")
    error = load_error(make_folder(tmp_path, text))
    assert error.file.name == "broken.toml"
    assert error.place == "line 8"
    assert str(error).startswith("broken.toml: line 8: ")


def test_deck_without_prompts_refused(tmp_path: Path) -> None:
    """A deck with no sessions, and so no prompts, is refused."""
    text = VALID_DECK.split("[[sessions]]")[0]
    error = load_error(make_folder(tmp_path, text))
    assert error.place == "sessions"


def test_missing_fixed_file_refused(tmp_path: Path) -> None:
    """Each fixed data file is required."""
    folder = make_folder(tmp_path, VALID_DECK)
    (folder / "checkin.toml").unlink()
    error = load_error(folder)
    assert error.file.name == "checkin.toml"


def test_too_many_weather_options_refused(tmp_path: Path) -> None:
    """More weather options than fit on one row of buttons are refused."""
    folder = make_folder(tmp_path, VALID_DECK)
    extra = '\n[[weather]]\nid = "windy"\nlabel = "Windy"\nemoji = "🌬️"\n'
    with (folder / "checkin.toml").open("a", encoding="utf-8") as handle:
        handle.write(extra)
    error = load_error(folder)
    assert error.file.name == "checkin.toml"
    assert error.place == "weather"


def test_shipped_resource_without_checked_date_refused(tmp_path: Path) -> None:
    """A shipped resource must say when it was checked against its page."""
    folder = make_folder(tmp_path, VALID_DECK)
    (folder / "resources.toml").write_text(
        '[[resources]]\nname = "A line"\ncontact = "555"\nurl = "https://example.org"\n',
        encoding="utf-8",
    )
    error = load_error(folder)
    assert str(error).startswith("resources.toml: resources[0].checked: ")


# ---------------------------------------------------------------------------------------------
# parse_resource, shared with /setup resources


def test_parse_resource_minimal() -> None:
    """A server-added resource needs only a name and a contact."""
    resource = parse_resource({"name": " Local line ", "contact": "555-0100"})
    assert resource.name == "Local line"
    assert resource.url is None and resource.region is None and resource.checked is None
    assert resource.confidentiality == "Not stated."


def test_parse_resource_accepts_text_date() -> None:
    """A checked date typed as text is read as a date."""
    resource = parse_resource({"name": "X", "contact": "Y", "checked": "2026-11-28"})
    assert resource.checked == datetime.date(2026, 11, 28)


def test_parse_resource_requires_name() -> None:
    """A resource without a name is refused with the field named."""
    with pytest.raises(ValueError, match="needs a name"):
        parse_resource({"contact": "555-0100"})


def test_parse_resource_requires_contact() -> None:
    """A resource without a contact (or a blank one) is refused with the field named."""
    with pytest.raises(ValueError, match="needs a contact"):
        parse_resource({"name": "Local line", "contact": "  "})


def test_parse_resource_refuses_bad_url_and_date() -> None:
    """A web page that is not http(s) and a malformed date are refused in plain words."""
    with pytest.raises(ValueError, match="web page"):
        parse_resource({"name": "X", "contact": "Y", "url": "javascript:alert(1)"})
    with pytest.raises(ValueError, match="checked date"):
        parse_resource({"name": "X", "contact": "Y", "checked": "last week"})
