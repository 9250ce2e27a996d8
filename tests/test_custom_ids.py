"""Custom ids on buttons already in servers keep working: every shipped template is pinned
here, every id the bot makes is answered by exactly one button, and each button is the one
its declaration names."""

from __future__ import annotations

import itertools
import re
import secrets

import pytest

import cogs.circles.structure
import cogs.prompts
from bot.layer import contact, posting
from bot.layer import custom_ids as ids
from bot.layer.buttons import PersistentButton
from bot.services import anonymous, moderation, polls, structure, suggestions

# Exactly as shipped. Changing one breaks the buttons on every message that carries it.
SHIPPED = {
    "ck:anon:reply(?::(?P<token>[A-Za-z0-9_-]+))?",
    "ck:anon:confirm:(?P<token>[A-Za-z0-9_-]+)",
    "ck:anon:edit:(?P<token>[A-Za-z0-9_-]+)",
    "ck:anon:(?P<decision>approve|reject):(?P<token>[A-Za-z0-9_-]+)",
    "ck:mod:(?P<decision>approve|reject|block):(?P<token>[A-Za-z0-9_-]+)",
    "ck:mod:report",
    "ck:mod:report:(?P<decision>removed|dismissed|handled):(?P<token>[A-Za-z0-9_-]+)",
    "ck:circle:break(?::(?P<circle_id>[0-9]+))?",
    "ck:circle:break:ask:(?P<circle_id>[0-9]+)",
    "ck:circle:join:(?P<circle_id>[0-9]+)",
    "ck:circle:agree:(?P<circle_id>[0-9]+):(?P<count>[0-9]+)",
    "ck:circle:notnow",
    "ck:circle:checkin:(?P<token>[A-Za-z0-9_-]+):(?P<option>[a-z0-9-]+)",
    "ck:circle:checkout",
    "ck:circle:turn:(?P<token>[A-Za-z0-9_-]+)",
    "ck:circle:turn:(?P<action>share|pass|later):(?P<token>[A-Za-z0-9_-]+)",
    "ck:prompt:show:(?P<circle_id>[0-9]+):(?P<prompt_id>[a-z0-9-]+)",
    "ck:contact:open",
    "ck:contact:mod:(?P<action>reply|close|block):(?P<token>[A-Za-z0-9_-]+)",
    "ck:contact:me:(?P<action>answer|close):(?P<token>[A-Za-z0-9_-]+)",
    "ck:contact:resources",
    "ck:circle:vote:(?P<token>[A-Za-z0-9_-]+):(?P<option>[0-9]+)",
    "ck:circle:pollclose:(?P<token>[A-Za-z0-9_-]+)",
    "ck:prompt:suggestion:(?P<decision>add|decline):(?P<token>[A-Za-z0-9_-]+)",
}
# Ids on messages already sent, and the declaration that must answer each.
SENT = {
    "ck:anon:reply": ids.REPLY,
    "ck:anon:reply:Zx9_-q2Lm0aB4cD5eF6gHw": ids.REPLY,
    "ck:anon:confirm:Zx9_-q2Lm0aB4cD5eF6gHw": ids.POST_ANYWAY,
    "ck:anon:edit:Zx9_-q2Lm0aB4cD5eF6gHw": ids.EDIT_DRAFT,
    "ck:anon:approve:Zx9_-q2Lm0aB4cD5eF6gHw": ids.REVIEW,
    "ck:anon:reject:Zx9_-q2Lm0aB4cD5eF6gHw": ids.REVIEW,
    "ck:mod:approve:Zx9_-q2Lm0aB4cD5eF6gHw": ids.HELD_POST,
    "ck:mod:block:Zx9_-q2Lm0aB4cD5eF6gHw": ids.HELD_POST,
    "ck:mod:report": ids.REPORT,
    "ck:mod:report:removed:Zx9_-q2Lm0aB4cD5eF6gHw": ids.REPORT_DECISION,
    "ck:circle:break": ids.BREAK,
    "ck:circle:break:12": ids.BREAK,
    "ck:circle:break:ask:12": ids.ASK_KEEPER,
    "ck:circle:join:12": ids.JOIN,
    "ck:circle:agree:12:3": ids.AGREE,
    "ck:circle:notnow": ids.NOT_NOW,
    "ck:circle:checkin:Zx9_-q2Lm0aB4cD5eF6gHw:calm": ids.CHECKIN,
    "ck:circle:checkout": ids.CHECKOUT,
    "ck:circle:turn:Zx9_-q2Lm0aB4cD5eF6gHw": ids.TAKE_TURN,
    "ck:circle:turn:later:Zx9_-q2Lm0aB4cD5eF6gHw": ids.TURN_CHOICE,
    "ck:prompt:show:12:c12": ids.SHOW_PROMPT,
    "ck:contact:open": ids.CONTACT_OPEN,
    "ck:contact:mod:reply:Zx9_-q2Lm0aB4cD5eF6gHw": ids.CONTACT_MODERATORS,
    "ck:contact:me:answer:Zx9_-q2Lm0aB4cD5eF6gHw": ids.CONTACT_MEMBER,
    "ck:contact:resources": ids.RESOURCES,
    "ck:circle:vote:Zx9_-q2Lm0aB:0": ids.POLL_VOTE,
    "ck:circle:pollclose:Zx9_-q2Lm0aB": ids.POLL_CLOSE,
    "ck:prompt:suggestion:add:Zx9_-q2Lm0aB4cD5eF6g": ids.SUGGESTION,
    "ck:prompt:suggestion:decline:Zx9_-q2Lm0aB4cD5eF6g": ids.SUGGESTION,
}


def _buttons() -> list[type[PersistentButton]]:
    # Importing these loads every module that declares a button.
    assert posting.LAYER_ITEMS and contact.CONTACT_ITEMS
    assert cogs.circles.structure.STRUCTURE_ITEMS and cogs.prompts
    found, todo = [], list(PersistentButton.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith(("bot.", "cogs.")):  # not the tests' own buttons
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _answering(custom_id: str) -> list[ids.CustomId]:
    return [d for d in ids.ALL if re.fullmatch(d.template, custom_id)]


def test_every_template_is_exactly_as_shipped() -> None:
    assert sorted(d.template for d in ids.ALL) == sorted(SHIPPED)


@pytest.mark.parametrize("custom_id", sorted(SENT))
def test_ids_already_sent_are_answered_by_one_button(custom_id: str) -> None:
    assert _answering(custom_id) == [SENT[custom_id]]


def test_each_declaration_has_one_button_in_its_owner_module() -> None:
    buttons = _buttons()
    for declared in ids.ALL:
        # By name: a test that reloads an extension leaves the old class object behind.
        owners = list({(b.__module__, b.__qualname__) for b in buttons if b.declared == declared})
        assert len(owners) == 1, declared
        assert owners[0][0] == declared.owner
    assert all(any(b.declared == d for d in ids.ALL) for b in buttons)


def _samples(field: ids.Field) -> list[str]:
    if field is ids.NUMBER:
        return ["1", "42", "9007199254740993"]
    if field is ids.SLUG:
        return ["c12", "calm", "heavy-1"]
    if field is ids.TOKEN:
        sizes = {
            anonymous.TOKEN_BYTES,
            moderation.TOKEN_BYTES,
            structure.TOKEN_BYTES,
            polls.TOKEN_BYTES,
            suggestions.TOKEN_BYTES,
        }
        return [secrets.token_urlsafe(n) for n in sorted(sizes) for _ in range(20)]
    return field.pattern.split("|")  # one of a few fixed words


def test_no_id_the_bot_makes_matches_two_templates() -> None:
    made = 0
    for declared in ids.ALL:
        values = [_samples(f) for f in declared.fields.values()]
        for combo in itertools.product(*values):
            custom_id = declared.make(*combo)
            assert _answering(custom_id) == [declared], custom_id
            made += 1
        if declared.optional_last:
            custom_id = declared.make(*[v[0] for v in values[:-1]], None)
            assert _answering(custom_id) == [declared], custom_id
    assert made > 100
