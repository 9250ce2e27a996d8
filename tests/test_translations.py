"""Tests for the Spanish and Brazilian Portuguese content: prompts/<language>/ and prompts/labels/.

A translation is a full copy of the English files with every text a person reads translated and
everything else (ids, order, intensities, kinds, arguments, police values, contacts, web pages,
checked dates, sources) left exactly as in English, so one loader reads every language.
"""

from __future__ import annotations

import copy
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.decks import FIXED_FILES, PROMPTS_DIR, Library, load_library
from bot.services.wordlists import ADJECTIVES, NOUNS

LANGUAGES = ("es", "pt-BR")
CONTENT_FILES = (*FIXED_FILES, "essay.toml")
LABELS_DIR = PROMPTS_DIR / "labels"

# Keys whose values people read; every other key must keep the English value.
TEXT_KEYS = frozenset(
    {
        "text",
        "follow_ups",
        "content_notes",
        "title",
        "description",
        "short",
        "question",
        "label",
        "texts",
        "steps",
        "about",
        "confidentiality",
        "region",
        "police_cases",
    }
)
# Texts that may read the same as in English (a name or a number inside a text field).
SAME_AS_ENGLISH: frozenset[str] = frozenset()

# Command names, placeholders and web addresses inside a text stay exactly as written.
FIXED_TOKENS = re.compile(r"\{[a-z_]+\}|(?<![\w/.])/[a-z]+\b|https://\S+")

# A prompt carrying one of the essay's arguments says it is the essay's ("The essay argues").
ATTRIBUTION = {
    "es": re.compile(r"\b(el ensayo|la persona autora del ensayo)\b", re.IGNORECASE),
    "pt-BR": re.compile(r"\b(o ensaio|a pessoa autora do ensaio)\b", re.IGNORECASE),
}
# The reflective prompt of each session asks where one feels unsure.
REFLECTIVE = {"es": "dudas", "pt-BR": "dúvida"}
# Text naming violence, policing, immigration or coercion carries a matching content note.
NOTE_RULES = {
    "es": {
        "violence": (r"(?<!contra la )violen|\babus|agresi|violaci", "violencia"),
        "policing": (r"\bpolic|fuerzas del orden|detenci|operativos", "policía"),
        "immigration": (r"migra", "migra"),
        "coercion": (r"coerc|\bfuerza\b", "coerción"),
    },
    "pt-BR": {
        "violence": (r"(?<!contra a )violên|\babus|agress|estupro", "violência"),
        "policing": (r"\bpolic|forças de segurança|\bpris(ão|ões)|operações policiais", "polícia"),
        "immigration": (r"migra", "migra"),
        "coercion": (r"coer[cç]|\bforça\b", "coerção"),
    },
}
# Questions that ask someone whether they do sex work or have survived trafficking.
DISCLOSURE_PATTERNS = {
    "es": [
        r"\b(eres|fuiste|has sido) (una? )?(trabajador|persona que ejerce|víctima|sobreviviente)",
        r"\b(ejerces|ejerciste|has ejercido) (el )?trabajo sexual",
        r"\bhas (sufrido|vivido) trata\b",
    ],
    "pt-BR": [
        r"\bvocê (é|foi|já foi) (uma? )?(trabalhador|profissional do sexo|vítima|sobrevivente)",
        r"\bvocê (faz|fez|já fez) (trabalho sexual|programa)",
        r"\bvocê (sofreu|passou por) tráfico\b",
    ],
}
# Words these communities reject as labels for people. "Prostitución"/"prostituição" is left
# out of the content altogether: police operations are named for what they target, sex work.
STIGMATISING = {
    "es": ["prostituta", "prostitución", "prostituida", "ramera", "meretriz", "puta"],
    "pt-BR": [
        "prostituta",
        "prostituição",
        "prostituída",
        "meretriz",
        "puta",
        "garota de programa",
    ],
}

# Label words that are slurs, insults or sexual slang somewhere the language is spoken, comment
# on bodies, skin, age or origin, echo the sex trades or repression, or are common given names.
# Compared without accents and case, against the whole word and each hyphenated part.
LABEL_DENYLIST = {
    "es": """zorra zorro perra perro gata gato cabra vaca burro burra cerda cerdo puerca loba
        mariposa mariquita marica polla pollo gallina concha almeja papaya chocho chochin bicho
        pajaro pajara paloma foca ballena morsa cotorra loro rata mona mono vibora serpiente
        cucaracha cernicalo halcon chorlito charran cardo conejo conejita pichon nutria castor
        ciervo cierva gacela pantera tigresa leona potra yegua lechuza pinguino petirrojo
        caliente rico rica buena bueno dulce salvaje libre joven fresco fresca tierno tierna
        oculto secreto silencioso callado rojo roja rosa rosado escarlata moreno morena negro
        negra bronceado bronceada cobrizo cobriza canela mulata oriental norteno honesta lunar
        montanes serrano condor prostituta puta trata victima alondra rocio luna estrella clara
        serena celeste marina esmeralda sol aurora perla brisa""",
    "pt-BR": """veado viado piranha galinha gata gato vaca cabra burro burra mina perua baleia
        foca anta toupeira jumento mula cobra pato pavao rola rolinha pomba perereca aranha
        borboleta bicha mariposa cachorra cachorro egua potranca franga frango peru pinto pica
        gaviao lagartixa papagaio periquito tucano arara boto mangue lontra castor urso raposa
        lesma sapo cadela coruja gostoso gostosa quente doce fresco fresca selvagem livre jovem
        novinha novinho oculto secreto silencioso vermelho vermelha rosa rosado escarlate moreno
        morena mulata bronzeado acobreado oriental recife baia bahia planalto condor prostituta
        puta trafico vitima aurora serena esmeralda oliveira louro loura farol""",
}


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def compare(english: Any, translated: Any, place: str = "", key: str = "") -> list[str]:
    """Every way ``translated`` departs from ``english`` other than translated texts."""
    if isinstance(english, dict):
        if not isinstance(translated, dict) or list(english) != list(translated):
            got = list(translated) if isinstance(translated, dict) else type(translated).__name__
            return [f"{place or 'file'}: keys {got} instead of {list(english)}"]
        return [
            problem
            for name in english
            for problem in compare(english[name], translated[name], f"{place}.{name}", name)
        ]
    if isinstance(english, list):
        if not isinstance(translated, list) or len(english) != len(translated):
            return [f"{place}: {translated!r} has not the {len(english)} items of English"]
        return [
            problem
            for index, (en_item, tr_item) in enumerate(zip(english, translated, strict=True))
            for problem in compare(en_item, tr_item, f"{place}[{index}]", key)
        ]
    if key in TEXT_KEYS:
        if not isinstance(translated, str) or not translated.strip():
            return [f"{place}: empty"]
        if translated.strip() == english.strip() and english.strip() not in SAME_AS_ENGLISH:
            return [f"{place}: left in English: {english!r}"]
        if FIXED_TOKENS.findall(english) != FIXED_TOKENS.findall(translated):
            return [f"{place}: commands, placeholders or links differ from English"]
        return []
    if translated != english:
        return [f"{place}: {translated!r} instead of the English {english!r}"]
    return []


def _texts(library: Library) -> Iterator[tuple[str, str]]:
    """Every text a member reads, with where it comes from."""
    for prompt in library.prompts.values():
        yield prompt.id, " ".join((prompt.text, *prompt.follow_ups, *prompt.content_notes))
    for agreement in library.agreements:
        yield agreement.id, f"{agreement.short} {agreement.text}"
    yield "honest_limits", library.honest_limits
    yield (
        "checkin",
        " ".join((library.checkin.question, *(w.label for w in library.checkin.weather))),
    )
    grounding = library.grounding
    yield (
        "grounding",
        " ".join((*grounding.pause_texts, grounding.break_title, *grounding.break_steps)),
    )
    for resource in library.resources:
        yield resource.name, f"{resource.about} {resource.confidentiality} {resource.region}"


@pytest.fixture(scope="module", params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def translated(language: str) -> Library:
    return load_library(PROMPTS_DIR / language)


# ---------------------------------------------------------------------------------------------
# Content


def test_language_folder_loads_with_the_shipped_loader(language: str, translated: Library) -> None:
    """Each language folder holds every content file, and the loader reads it unchanged."""
    folder = PROMPTS_DIR / language
    assert sorted(path.name for path in folder.glob("*.toml")) == sorted(CONTENT_FILES)
    english = load_library()
    assert list(translated.prompts) == list(english.prompts)
    assert [a.id for a in translated.agreements] == [a.id for a in english.agreements]
    assert [w.id for w in translated.checkin.weather] == [w.id for w in english.checkin.weather]
    assert len(translated.grounding.break_steps) == len(english.grounding.break_steps)
    assert [r.name for r in translated.resources] == [r.name for r in english.resources]


@pytest.mark.parametrize("name", CONTENT_FILES)
def test_translation_keeps_everything_but_the_words(language: str, name: str) -> None:
    """Same tables, keys, ids and order as English, every fact unchanged, every text translated."""
    english = _read(PROMPTS_DIR / name)
    assert compare(english, _read(PROMPTS_DIR / language / name)) == []


def test_resource_facts_match_english(translated: Library) -> None:
    """Police policy, contact, pages and checked date on the card are the English entry's."""
    for english, entry in zip(load_library().resources, translated.resources, strict=True):
        assert (entry.police, entry.contact, entry.url, entry.checked, entry.source) == (
            english.police,
            english.contact,
            english.url,
            english.checked,
            english.source,
        )
        assert entry.police_cases == english.police_cases


def test_arguments_are_attributed_to_the_essay(language: str, translated: Library) -> None:
    """A prompt carrying the essay's argument says it is the essay's, in the reader's language."""
    for prompt in translated.decks["essay"].prompts():
        if prompt.argument is not None:
            assert ATTRIBUTION[language].search(prompt.text), prompt.id


def test_each_session_keeps_its_reflective_prompt(language: str, translated: Library) -> None:
    """The reflective prompt still asks where one feels unsure, in each language."""
    for session in translated.decks["essay"].sessions:
        reflective = [p for p in session.prompts if p.kind == "reflective"]
        assert len(reflective) == 1, session.id
        assert REFLECTIVE[language] in reflective[0].text, session.id


def test_content_notes_match_the_translated_text(language: str, translated: Library) -> None:
    """Translated text naming violence, policing, immigration or coercion keeps a matching note."""
    for prompt in translated.prompts.values():
        words = " ".join((prompt.text, *prompt.follow_ups)).lower()
        notes = " ".join(prompt.content_notes)
        for topic, (pattern, needed) in NOTE_RULES[language].items():
            if re.search(pattern, words):
                assert needed in notes, (prompt.id, topic)


def test_no_translated_prompt_asks_for_disclosure(language: str, translated: Library) -> None:
    """No prompt asks whether someone does sex work or has survived trafficking."""
    for prompt in translated.prompts.values():
        text = " ".join((prompt.text, *prompt.follow_ups)).lower()
        for pattern in DISCLOSURE_PATTERNS[language]:
            assert not re.search(pattern, text), (prompt.id, pattern)


def test_no_stigmatising_words(language: str, translated: Library) -> None:
    """The content uses the communities' own terms, never words that label people with stigma."""
    for place, text in _texts(translated):
        lowered = text.lower()
        for word in STIGMATISING[language]:
            assert not re.search(rf"\b{word}", lowered), (place, word)


def test_honest_limits_keep_their_promises(language: str, translated: Library) -> None:
    """The honest limits still point to /resources and ask people to leave out names."""
    limits = translated.honest_limits
    assert "/resources" in limits
    assert {"es": "no incluyas nombres", "pt-BR": "deixe de fora nomes"}[language] in limits


def test_comparison_catches_a_changed_fact_or_untranslated_text() -> None:
    """The structure check fails on a changed intensity, a reordered id or an English text."""
    english = _read(PROMPTS_DIR / "essay.toml")
    spanish = _read(PROMPTS_DIR / "es" / "essay.toml")
    assert compare(english, spanish) == []

    heavier = copy.deepcopy(spanish)
    heavier["sessions"][0]["prompts"][0]["intensity"] = "heavy"
    assert compare(english, heavier) == [
        ".sessions[0].prompts[0].intensity: 'heavy' instead of the English 'light'"
    ]

    reordered = copy.deepcopy(spanish)
    prompts = reordered["sessions"][0]["prompts"]
    prompts[0], prompts[1] = prompts[1], prompts[0]
    assert any(".id:" in problem for problem in compare(english, reordered))

    untranslated = copy.deepcopy(spanish)
    untranslated["deck"]["title"] = english["deck"]["title"]
    assert compare(english, untranslated) == [
        f".deck.title: left in English: {english['deck']['title']!r}"
    ]

    dropped_link = copy.deepcopy(_read(PROMPTS_DIR / "es" / "grounding.toml"))
    dropped_link["break"]["steps"][-1] = "Busca apoyo fuera del círculo cuando quieras."
    assert compare(_read(PROMPTS_DIR / "grounding.toml"), dropped_link) == [
        ".break.steps[5]: commands, placeholders or links differ from English"
    ]


# ---------------------------------------------------------------------------------------------
# Label words


@pytest.fixture(scope="module")
def labels(language: str) -> dict[str, Any]:
    return _read(LABELS_DIR / f"{language}.toml")


def test_label_lists_are_as_large_as_english(labels: dict[str, Any]) -> None:
    """Each language has as many adjectives and nouns as English, so labels stay as varied."""
    assert len(labels["adjectives"]) == len(ADJECTIVES)
    assert len(labels["nouns"]) == len(NOUNS)
    assert labels["about"]["text"].strip()


def test_label_words_carry_their_grammar(labels: dict[str, Any]) -> None:
    """Every noun has a gender, m or f, and every adjective both forms, so labels agree."""
    for noun in labels["nouns"]:
        assert set(noun) == {"word", "gender"}, noun
        assert noun["gender"] in ("m", "f"), noun
        assert noun["word"].strip() and noun["word"][0].isupper(), noun
    for adjective in labels["adjectives"]:
        assert set(adjective) == {"m", "f"}, adjective
        for form in (adjective["m"], adjective["f"]):
            assert form.strip() and form[0].isupper(), adjective


def test_label_words_are_not_repeated(labels: dict[str, Any]) -> None:
    """No word appears twice, so every noun-adjective label is distinct."""
    nouns = [_plain(noun["word"]) for noun in labels["nouns"]]
    assert len(set(nouns)) == len(nouns)
    for form in ("m", "f"):
        words = [_plain(adjective[form]) for adjective in labels["adjectives"]]
        assert len(set(words)) == len(words), form
    rendered = {
        f"{noun['word']} {adjective[noun['gender']]}"
        for noun in labels["nouns"]
        for adjective in labels["adjectives"]
    }
    assert len(rendered) == len(ADJECTIVES) * len(NOUNS)


def test_label_words_avoid_slurs_and_slang(language: str, labels: dict[str, Any]) -> None:
    """No label word, or part of one, is on the language's denylist."""
    denied = {_plain(word) for word in LABEL_DENYLIST[language].split()}
    words = [noun["word"] for noun in labels["nouns"]]
    words += [adjective[form] for adjective in labels["adjectives"] for form in ("m", "f")]
    for word in words:
        parts = {_plain(word), *(_plain(part) for part in re.split(r"[-\s]", word))}
        assert not parts & denied, word


def test_denylist_check_catches_a_slang_word(language: str, labels: dict[str, Any]) -> None:
    """A denied word slipped into the nouns is caught (the check can fail)."""
    spoiled = copy.deepcopy(labels)
    spoiled["nouns"][0] = {"word": {"es": "Zorra", "pt-BR": "Veado"}[language], "gender": "f"}
    with pytest.raises(AssertionError):
        test_label_words_avoid_slurs_and_slang(language, spoiled)
