"""The server's own rules on what the bot posts for members: AutoMod keyword rules read from
Discord and kept current, and the server's word list, with Discord's matching."""

from __future__ import annotations

import pytest

from bot.db import Database
from bot.services import automod
from bot.services.automod import Rule, RuleSet
from tests.conftest import World
from tests.test_anonymous import anonymous_posts, circle_with_members, post
from tests.test_circles import join

BANNED = "Someone said zorblat in here."


def keyword_rule(name: str = "No zorblat", **metadata: object) -> dict[str, object]:
    return {
        "name": name,
        "event_type": 1,
        "trigger_type": 1,
        "trigger_metadata": {"keyword_filter": ["zorblat"], **metadata},
        "actions": [{"type": 1, "metadata": {"custom_message": "Please keep zorblat out."}}],
        "enabled": True,
    }


# --- matching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "text", "hit"),
    [
        ("cat", "a Cat sat", True),
        ("cat", "catalogue", False),
        ("cat*", "CATALOGUE", True),
        ("cat*", "wildcat", False),
        ("*cat", "wildcat", True),
        ("*cat", "catalogue", False),
        ("*cat*", "a dog", False),
        ("*cat*", "locations", True),
        ("sex work", "sex work is work", True),
    ],
)
def test_keywords_follow_discord_wildcards(keyword: str, text: str, hit: bool) -> None:
    """Bare words match whole words, `x*` starts, `*x` ends and `*x*` anywhere, in any case."""
    rules = RuleSet([Rule("r", "block", keywords=(keyword,))])
    assert (rules.check(text) is not None) is hit


def test_allow_list_exempts_words_and_regex_runs_on_re2() -> None:
    """An allow-listed word never triggers; patterns match case-insensitively; a pattern RE2
    cannot compile is skipped and named instead of failing."""
    rules = RuleSet(
        [
            Rule("words", "block", keywords=("*ass*",), allow=("class", "pass*")),
            Rule("pattern", "review", patterns=(r"z[o0]rb", r"(a)\1", r"(?=x)")),
        ]
    )
    assert rules.check("the class passed") is None
    assert rules.check("a bass note").rule_name == "words"
    verdict = rules.check("Z0RBLAT again")
    assert verdict is not None and verdict.action == "review"
    assert [p for _, p in rules.skipped_patterns()] == [r"(a)\1", r"(?=x)"]


def test_block_beats_review_and_exempt_channels_apply() -> None:
    """The strictest rule wins, and a rule exempting the channel or its parent is skipped."""
    rules = RuleSet(
        [
            Rule("hold", "review", keywords=("word",)),
            Rule("stop", "block", keywords=("word",), exempt_channels=frozenset({7})),
        ]
    )
    assert rules.check("word", [1, 2]).action == "block"
    assert rules.check("word", [1, 7]).action == "review"


async def test_word_list_is_the_servers_own(db: Database) -> None:
    """A new server has no list; entries are stored lower-case, replaced, and removed."""
    assert await automod.words(db, 1) == []
    assert await automod.add_word(db, 1, "  Zorb*  ", "block") == ("zorb*", True)
    assert await automod.add_word(db, 1, "zorb*", "review") == ("zorb*", False)
    assert await automod.words(db, 1) == [("zorb*", "review")]
    with pytest.raises(automod.FilterError):
        await automod.add_word(db, 1, "zo*rb", "block")
    assert await automod.remove_word(db, 1, "ZORB*")
    assert await automod.word_list_rules(db, 1) == []


# --- end to end ----------------------------------------------------------------------------


async def test_banned_word_stops_a_member_message_and_an_anonymous_post(world: World) -> None:
    """The same banned word stops a member's own message (Discord's AutoMod) and an
    anonymous post (the bot's check), whose author hears the rule's message and can edit."""
    world.env.backend.create_auto_mod_rule(world.guild.id, world.admin.id, keyword_rule())
    thread, _ = await circle_with_members(world)
    await world.bob.send(thread, BANNED)
    assert not [m for m in thread.history() if m.content == BANNED]
    results = await post(world.alice, thread, BANNED)
    answer = results[-1].response
    assert answer.ephemeral and "Please keep zorblat out." in answer.content
    labels = [c["label"] for row in answer.components for c in row["components"]]
    assert labels == ["Edit"]
    assert anonymous_posts(thread) == []


async def test_allow_list_regex_and_exempt_roles(world: World) -> None:
    """An allow-listed word passes; a regex rule applies; a rule exempting a role the author
    holds still applies to their anonymous post."""
    world.env.backend.create_auto_mod_rule(
        world.guild.id,
        world.admin.id,
        {
            **keyword_rule("Roles", allow_list=["zorblat"], regex_patterns=[r"qu+x"]),
            "exempt_roles": [world.moderators.id],
        },
    )
    thread, card = await circle_with_members(world)
    await join(world, world.mod, card)  # the mod holds the exempt role
    await post(world.mod, thread, "zorblat is allowed here")
    assert len(anonymous_posts(thread)) == 1
    results = await post(world.mod, thread, "but QUUUX is not")
    assert "Please keep zorblat out." in results[-1].response.content
    assert len(anonymous_posts(thread)) == 1


async def test_rule_changes_apply_without_a_restart(world: World) -> None:
    """A rule created, changed and deleted through the gateway takes effect at once."""
    thread, _ = await circle_with_members(world)
    rule = world.env.backend.create_auto_mod_rule(world.guild.id, world.admin.id, keyword_rule())
    assert "Please keep" in (await post(world.alice, thread, BANNED))[-1].response.content
    world.env.backend.edit_auto_mod_rule(
        world.guild.id, rule.id, {"trigger_metadata": {"keyword_filter": ["other"]}}
    )
    await post(world.alice, thread, BANNED)
    assert len(anonymous_posts(thread)) == 1
    world.env.backend.delete_auto_mod_rule(world.guild.id, rule.id)
    await post(world.alice, thread, "other words")
    assert len(anonymous_posts(thread)) == 2


async def test_alert_only_rule_holds_the_post_for_review_with_its_name(world: World) -> None:
    """A rule that only alerts holds the post for the moderators, naming the rule."""
    await world.configure()
    body = keyword_rule("Watch zorblat")
    body["actions"] = [{"type": 2, "metadata": {"channel_id": world.modlog.id}}]
    world.env.backend.create_auto_mod_rule(world.guild.id, world.admin.id, body)
    thread, _ = await circle_with_members(world)
    results = await post(world.alice, thread, BANNED)
    assert "with the moderators" in results[-1].response.content
    assert anonymous_posts(thread) == []
    held = [m for m in world.queue.history() if m.embeds]
    assert held and "Watch zorblat" in (held[-1].embeds[0].footer.text or "")


async def test_word_list_blocks_like_a_rule(world: World) -> None:
    """A server without AutoMod adds its own word, and posts with it are stopped."""
    await world.admin.slash(world.general, "setup filter add", word="zorb*")
    listed = await world.admin.slash(world.general, "setup filter list")
    assert "`zorb*`: blocks" in listed.response.content
    thread, _ = await circle_with_members(world)
    results = await post(world.alice, thread, BANNED)
    assert "word list" in results[-1].response.content
    assert anonymous_posts(thread) == []


async def test_setup_show_says_what_applies_and_what_to_grant(world: World) -> None:
    """`/setup show` names the rules applied and says exempt roles are ignored; without
    Manage Server it says rules are not applied and what to grant, and posting still works."""
    world.env.backend.create_auto_mod_rule(world.guild.id, world.admin.id, keyword_rule())
    shown = await world.admin.slash(world.general, "setup show")
    text = shown.followups[-1].content if shown.followups else shown.response.content
    assert "**No zorblat**" in text and "Exempt roles are ignored" in text
    me = world.bot.get_guild(world.guild.id).me
    permissions = me.top_role.permissions
    permissions.manage_guild = False
    permissions.administrator = False
    world.env.backend.edit_role(world.guild.id, me.top_role.id, {"permissions": permissions.value})
    shown = await world.admin.slash(world.general, "setup show")
    text = shown.followups[-1].content if shown.followups else shown.response.content
    assert "**not applied**" in text and "Manage Server" in text
    thread, _ = await circle_with_members(world)
    await post(world.alice, thread, "an ordinary post")
    assert len(anonymous_posts(thread)) == 1


async def test_rules_stop_polls_prompts_and_suggestions_before_anything_is_saved(
    world: World,
) -> None:
    """Words the bot posts later for a keeper or member (a poll, a circle prompt, a suggested
    prompt) meet the same rule: refused privately with the rule's message, nothing stored;
    the same texts without the banned word go through."""
    world.env.backend.create_auto_mod_rule(world.guild.id, world.admin.id, keyword_rule())
    thread, _ = await circle_with_members(world)
    before = len(thread.history())

    poll = await world.mod.slash(
        thread, "circle poll", question="Meet on zorblat day?", options="Yes|No"
    )
    assert poll.ephemeral and "Please keep zorblat out." in poll.response.content
    added = await world.mod.slash(thread, "prompt add", text="What does zorblat mean to you?")
    assert added.ephemeral and "Please keep zorblat out." in added.response.content
    shown = await world.alice.slash(thread, "prompt suggest")
    suggested = await world.alice.submit_modal(
        shown, {"text": "Could we talk about zorblat?", "content_note": ""}
    )
    assert suggested.ephemeral and "Please keep zorblat out." in suggested.response.content
    assert len(thread.history()) == before
    assert await world.db.fetchval("SELECT count(*) FROM polls") == 0
    assert await world.db.fetchval("SELECT count(*) FROM prompt_suggestions") == 0
    assert await world.db.fetchval("SELECT count(*) FROM custom_prompts") == 0

    await world.mod.slash(thread, "circle poll", question="Meet on Friday?", options="Yes|No")
    await world.mod.slash(thread, "prompt add", text="What does care look like to you?")
    assert await world.db.fetchval("SELECT count(*) FROM polls") == 1
    assert await world.db.fetchval("SELECT count(*) FROM custom_prompts") == 1
