"""Words for anonymous labels ("Quiet Heron"): an adjective and an animal or nature word.

Labels appear on every anonymous post, in circles where people talk about hard things, so
every word is gentle and neutral. Left out on purpose: anything that doubles as a slur or
insult, comments on sex, gender, bodies, age, skin or race, or echoes the sex trades or
trafficking. That rules out colours such as red, pink or scarlet; words like sweet, wild,
fresh, young, free, hidden, secret or silent; animals used as slang for people, such as fox,
kitten, bear, otter, stag or cougar; flowers that are common given names; and directions
that can read as someone's origin, such as eastern. Check a new word against this before
adding it.

Editing these lists never changes a label already given out (labels are stored per circle);
only members who have no label yet get one from the new lists.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ADJECTIVES: tuple[str, ...] = (
    "Quiet",
    "Calm",
    "Steady",
    "Patient",
    "Gentle",
    "Kind",
    "Bright",
    "Clear",
    "Careful",
    "Thoughtful",
    "Curious",
    "Hopeful",
    "Friendly",
    "Cheerful",
    "Mellow",
    "Serene",
    "Still",
    "Tranquil",
    "Restful",
    "Peaceful",
    "Breezy",
    "Sunny",
    "Cloudy",
    "Misty",
    "Rainy",
    "Snowy",
    "Frosty",
    "Dewy",
    "Mossy",
    "Leafy",
    "Grassy",
    "Sandy",
    "Rocky",
    "Woodland",
    "Hillside",
    "Riverside",
    "Lakeside",
    "Seaside",
    "Coastal",
    "Alpine",
    "Autumn",
    "Winter",
    "Spring",
    "Summer",
    "Morning",
    "Evening",
    "Twilight",
    "Lunar",
    "Solar",
    "Starry",
    "Amber",
    "Azure",
    "Golden",
    "Silver",
    "Copper",
    "Bronze",
    "Indigo",
    "Cobalt",
    "Emerald",
    "Cerulean",
    "Ochre",
    "Slate",
    "Wise",
    "Nimble",
    "Earnest",
    "Merry",
    "Lively",
    "Sincere",
    "Mindful",
    "Steadfast",
    "Glimmering",
    "Humming",
    "Whistling",
    "Twinkling",
    "Rolling",
    "Rustling",
)

NOUNS: tuple[str, ...] = (
    "Heron",
    "Crane",
    "Finch",
    "Sparrow",
    "Wren",
    "Robin",
    "Kestrel",
    "Falcon",
    "Osprey",
    "Owl",
    "Swan",
    "Dove",
    "Lark",
    "Puffin",
    "Tern",
    "Plover",
    "Curlew",
    "Egret",
    "Ibis",
    "Kingfisher",
    "Starling",
    "Warbler",
    "Pipit",
    "Petrel",
    "Albatross",
    "Pelican",
    "Penguin",
    "Hare",
    "Seal",
    "Lynx",
    "Hedgehog",
    "Squirrel",
    "Panda",
    "Koala",
    "Lemur",
    "Alpaca",
    "Llama",
    "Ibex",
    "Bison",
    "Moose",
    "Dolphin",
    "Tortoise",
    "Turtle",
    "Salamander",
    "Gecko",
    "Dragonfly",
    "Firefly",
    "Cricket",
    "River",
    "Brook",
    "Willow",
    "Fern",
    "Maple",
    "Cedar",
    "Birch",
    "Aspen",
    "Juniper",
    "Clover",
    "Moss",
    "Meadow",
    "Harbor",
    "Pebble",
    "Cloud",
    "Tide",
    "Reef",
    "Dune",
    "Cove",
    "Glade",
    "Grove",
    "Lake",
    "Pine",
    "Oak",
    "Rowan",
    "Thistle",
    "Lichen",
    "Acorn",
    "Comet",
    "Ember",
    "Canyon",
    "Valley",
    "Summit",
    "Glacier",
    "Prairie",
    "Lagoon",
    "Island",
    "Spruce",
    "Alder",
    "Larch",
)


@dataclass(frozen=True)
class LabelWords:
    """One language's label words: adjectives by gender (m, f), nouns with their gender, and
    whether the noun comes first ("Garza Serena") or the adjective ("Quiet Heron")."""

    adjectives: tuple[tuple[str, str], ...]
    nouns: tuple[tuple[str, str], ...]
    noun_first: bool

    def label(self, adjective: int, noun: int) -> str:
        word, gender = self.nouns[noun]
        masculine, feminine = self.adjectives[adjective]
        agreeing = feminine if gender == "f" else masculine
        return f"{word} {agreeing}" if self.noun_first else f"{agreeing} {word}"


ENGLISH_WORDS = LabelWords(
    adjectives=tuple((a, a) for a in ADJECTIVES),
    nouns=tuple((n, "m") for n in NOUNS),
    noun_first=False,
)
LABELS_DIR = Path(__file__).resolve().parent.parent.parent / "prompts" / "labels"


@cache
def label_words(language: str) -> LabelWords:
    """The language's label words from prompts/labels/<language>.toml; English otherwise."""
    path = LABELS_DIR / f"{language}.toml"
    if language == "en" or not path.exists():
        return ENGLISH_WORDS
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return LabelWords(
        adjectives=tuple((a["m"], a["f"]) for a in data["adjectives"]),
        nouns=tuple((n["word"], n["gender"]) for n in data["nouns"]),
        noun_first=True,
    )
