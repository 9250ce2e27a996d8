"""Every persistent custom id the bot puts on a button, in one place.

A persistent button's custom id carries its state, and messages already in servers keep
their buttons forever: once shipped, an id's prefix, its fields (names, patterns, order) and
whether its last field may be left out never change. `tests/test_custom_ids.py` pins every
template ever shipped and checks that no id the bot makes matches two templates.

Each entry names its `owner`, the module whose button answers it. Some prefixes overlap
(`ck:anon` / `ck:anon:reply`, `ck:mod` / `ck:mod:report`, `ck:circle:break` /
`ck:circle:break:ask`, two `ck:circle:turn`): the fields' patterns keep them apart, since a
random token is never one of the fixed words and never contains a `:`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Field:
    """One `:`-separated part of a custom id: the regex it matches and how it is read back."""

    pattern: str
    parse: Callable[[str], Any] = str


TOKEN = Field(r"[A-Za-z0-9_-]+")  # the random tokens of `secrets.token_urlsafe`
NUMBER = Field(r"[0-9]+", int)  # a database row id or a count
SLUG = Field(r"[a-z0-9-]+")  # lower-case ids: prompt ids ("c12" too), check-in weather ids


def one_of(*words: str) -> Field:
    """A field that is one of a few fixed words, such as a moderator's decision."""
    return Field("|".join(words))


def custom_id_template(prefix: str, fields: Mapping[str, Field], *, optional_last: bool) -> str:
    parts = [f":(?P<{name}>{f.pattern})" for name, f in fields.items()]
    if optional_last:
        parts[-1] = f"(?:{parts[-1]})?"
    return re.escape(prefix) + "".join(parts)


@dataclass(frozen=True)
class CustomId:
    """A persistent custom id: its fixed start, the fields after it, and who answers it."""

    prefix: str
    owner: str
    fields: Mapping[str, Field] = field(default_factory=dict)
    optional_last: bool = False

    @property
    def template(self) -> str:
        return custom_id_template(self.prefix, self.fields, optional_last=self.optional_last)

    def make(self, *values: object) -> str:
        """The custom id for these field values (a left-out optional last field is None)."""
        parts = list(values)
        if self.optional_last and len(parts) == len(self.fields) and parts[-1] is None:
            parts.pop()
        return ":".join([self.prefix, *map(str, parts)])


HELD_DECISIONS = ("approve", "reject", "block")
REPORT_DECISIONS = ("removed", "dismissed", "handled")

# Anonymous posts and drafts (bot.layer.posting).
REPLY = CustomId("ck:anon:reply", "bot.layer.posting", {"token": TOKEN}, optional_last=True)
POST_ANYWAY = CustomId("ck:anon:confirm", "bot.layer.posting", {"token": TOKEN})
EDIT_DRAFT = CustomId("ck:anon:edit", "bot.layer.posting", {"token": TOKEN})
# Approve / Reject on a held post in the queue channel (the first shape shipped).
REVIEW = CustomId(
    "ck:anon",
    "bot.layer.moderation.views",
    {"decision": one_of("approve", "reject"), "token": TOKEN},
)
# Moderators (bot.layer.moderation).
HELD_POST = CustomId(
    "ck:mod", "bot.layer.moderation.views", {"decision": one_of(*HELD_DECISIONS), "token": TOKEN}
)
REPORT = CustomId("ck:mod:report", "bot.layer.moderation.modals")
REPORT_DECISION = CustomId(
    "ck:mod:report",
    "bot.layer.moderation.views",
    {"decision": one_of(*REPORT_DECISIONS), "token": TOKEN},
)
# I need a break (bot.layer.breaks): plain on prompts, with the circle on its card.
BREAK = CustomId("ck:circle:break", "bot.layer.breaks", {"circle_id": NUMBER}, optional_last=True)
ASK_KEEPER = CustomId("ck:circle:break:ask", "bot.layer.breaks", {"circle_id": NUMBER})
# The circle card (cogs.circles.views).
JOIN = CustomId("ck:circle:join", "cogs.circles.views", {"circle_id": NUMBER})
AGREE = CustomId("ck:circle:agree", "cogs.circles.views", {"circle_id": NUMBER, "count": NUMBER})
NOT_NOW = CustomId("ck:circle:notnow", "cogs.circles.views")
# Check-in and check-out (cogs.circles.checkin).
CHECKIN = CustomId("ck:circle:checkin", "cogs.circles.checkin", {"token": TOKEN, "option": SLUG})
CHECKOUT = CustomId("ck:circle:checkout", "cogs.circles.checkin")
# Rounds (cogs.circles.rounds).
TAKE_TURN = CustomId("ck:circle:turn", "cogs.circles.rounds", {"token": TOKEN})
TURN_CHOICE = CustomId(
    "ck:circle:turn",
    "cogs.circles.rounds",
    {"action": one_of("share", "pass", "later"), "token": TOKEN},
)
# Contact conversations with the moderators (bot.layer.contact): open one (on the circle card
# and the resource card), the moderators' Reply / Close / Block, the member's Answer / Close
# in their inbox, and Resources on the acknowledgement.
CONTACT_OPEN = CustomId("ck:contact:open", "bot.layer.contact")
CONTACT_MODERATORS = CustomId(
    "ck:contact:mod",
    "bot.layer.contact",
    {"action": one_of("reply", "close", "block"), "token": TOKEN},
)
CONTACT_MEMBER = CustomId(
    "ck:contact:me", "bot.layer.contact", {"action": one_of("answer", "close"), "token": TOKEN}
)
RESOURCES = CustomId("ck:contact:resources", "bot.layer.contact")
# Prompts (cogs.prompts).
SHOW_PROMPT = CustomId("ck:prompt:show", "cogs.prompts", {"circle_id": NUMBER, "prompt_id": SLUG})
# Polls (cogs.circles.polls): one button per choice, and Close poll for keepers.
POLL_VOTE = CustomId("ck:circle:vote", "cogs.circles.polls", {"token": TOKEN, "option": NUMBER})
POLL_CLOSE = CustomId("ck:circle:pollclose", "cogs.circles.polls", {"token": TOKEN})
# Members' prompt suggestions, in a keeper's private list (cogs.prompts).
SUGGESTION = CustomId(
    "ck:prompt:suggestion",
    "cogs.prompts",
    {"decision": one_of("add", "decline"), "token": TOKEN},
)

ALL: tuple[CustomId, ...] = (
    REPLY,
    POST_ANYWAY,
    EDIT_DRAFT,
    REVIEW,
    HELD_POST,
    REPORT,
    REPORT_DECISION,
    BREAK,
    ASK_KEEPER,
    JOIN,
    AGREE,
    NOT_NOW,
    CHECKIN,
    CHECKOUT,
    TAKE_TURN,
    TURN_CHOICE,
    SHOW_PROMPT,
    CONTACT_OPEN,
    CONTACT_MODERATORS,
    CONTACT_MEMBER,
    RESOURCES,
    POLL_VOTE,
    POLL_CLOSE,
    SUGGESTION,
)
