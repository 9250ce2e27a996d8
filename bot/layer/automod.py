"""The server's AutoMod rules, read from Discord and kept current, for the posting flow.

Discord's AutoMod never sees what the bot sends, so the bot applies the rules itself
(matching lives in `bot.services.automod`). Rules are read at start for each server (which
needs Manage Server) and kept current from the `AUTO_MODERATION_RULE_*` gateway events; the
server's word list is read from the database each time. One per bot: `bot.server_rules`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from bot.i18n import ENGLISH, N_, language_of_locale, tr
from bot.services import automod
from bot.services.automod import Rule, RuleSet, Verdict
from bot.services.errors import Refusal

if TYPE_CHECKING:
    from bot.client import CircleBot

log = logging.getLogger(__name__)

# Without the permission, try again at most this often when a post asks.
RETRY_AFTER = timedelta(minutes=10)


@dataclass(slots=True)
class _Guild:
    readable: bool = False  # the rules could be read (Manage Server)
    rules: dict[int, Rule] = field(default_factory=dict)
    presets: dict[int, str] = field(default_factory=dict)  # keyword-preset rules, by id
    tried_at: datetime | None = None


def convert(rule: discord.AutoModRule) -> Rule | str | None:
    """The rule as the posting flow applies it; the rule's name for a keyword-preset rule
    (which bots cannot read); None when it does not apply to posts."""
    if not rule.enabled or rule.event_type is not discord.AutoModRuleEventType.message_send:
        return None
    kind = rule.trigger.type
    if kind is discord.AutoModRuleTriggerType.keyword_preset:
        return rule.name
    if kind is not discord.AutoModRuleTriggerType.keyword:
        return None
    action: automod.Action | None = None
    message: str | None = None
    for step in rule.actions:
        # A timeout cannot reach an anonymous author without unmasking them: it blocks.
        if step.type in (
            discord.AutoModRuleActionType.block_message,
            discord.AutoModRuleActionType.timeout,
            discord.AutoModRuleActionType.block_member_interactions,
        ):
            action = "block"
            message = message or step.custom_message or None
        elif step.type is discord.AutoModRuleActionType.send_alert_message and action is None:
            action = "review"
    if action is None:
        return None
    return Rule(
        name=rule.name,
        action=action,
        keywords=tuple(rule.trigger.keyword_filter),
        patterns=tuple(rule.trigger.regex_patterns),
        allow=tuple(rule.trigger.allow_list),
        custom_message=message,
        exempt_channels=frozenset(rule.exempt_channel_ids),
        rule_id=rule.id,
    )


class ServerRules:
    """Each server's AutoMod rules as last read or changed (memory only)."""

    def __init__(self) -> None:
        self._guilds: dict[int, _Guild] = {}

    def _guild(self, guild_id: int) -> _Guild:
        return self._guilds.setdefault(guild_id, _Guild())

    async def load(self, guild: discord.Guild) -> None:
        """Read the server's rules; without Manage Server, note that they cannot be read."""
        state = self._guild(guild.id)
        state.tried_at = discord.utils.utcnow()
        try:
            rules = await guild.fetch_automod_rules()
        except discord.Forbidden:
            state.readable = False
            state.rules.clear()
            state.presets.clear()
            return
        except discord.HTTPException as error:
            log.warning("Could not read a server's AutoMod rules (HTTP %s)", error.status)
            return
        state.readable = True
        state.rules.clear()
        state.presets.clear()
        for rule in rules:
            self.changed(rule)

    def changed(self, rule: discord.AutoModRule) -> None:
        """A rule was created or edited (or read at start)."""
        state = self._guild(rule.guild.id)
        state.readable = True  # the events come only to a bot that may read the rules
        state.rules.pop(rule.id, None)
        state.presets.pop(rule.id, None)
        converted = convert(rule)
        if isinstance(converted, Rule):
            state.rules[rule.id] = converted
        elif isinstance(converted, str):
            state.presets[rule.id] = converted

    def removed(self, rule: discord.AutoModRule) -> None:
        state = self._guild(rule.guild.id)
        state.rules.pop(rule.id, None)
        state.presets.pop(rule.id, None)

    def forget(self, guild_id: int) -> None:
        self._guilds.pop(guild_id, None)

    def readable(self, guild_id: int) -> bool:
        return self._guild(guild_id).readable

    def presets(self, guild_id: int) -> list[str]:
        return sorted(self._guild(guild_id).presets.values())

    def rules(self, guild_id: int) -> list[Rule]:
        return list(self._guild(guild_id).rules.values())

    async def refresh_if_unreadable(self, guild: discord.Guild) -> None:
        """Try again to read the rules of a server whose rules could not be read, when the
        last try is a while ago (a permission may have been granted since)."""
        state = self._guild(guild.id)
        now = discord.utils.utcnow()
        if not state.readable and (state.tried_at is None or now - state.tried_at > RETRY_AFTER):
            await self.load(guild)


async def ruleset(bot: CircleBot, guild: discord.Guild, *, refresh: bool = True) -> RuleSet:
    """Every rule that applies to members' words posted in this server. Without `refresh`
    only the database is awaited (the caller refreshed the AutoMod rules first)."""
    if refresh:
        await bot.server_rules.refresh_if_unreadable(guild)
    return RuleSet(
        [*bot.server_rules.rules(guild.id), *await automod.word_list_rules(bot.db, guild.id)]
    )


async def check_member_text(
    bot: CircleBot,
    guild: discord.Guild,
    channel_ids: list[int],
    text: str,
    *,
    refresh: bool = True,
) -> Verdict | None:
    """The server's verdict on words the bot would post for a member in these channels (a
    thread and its parent), or None when no rule objects. Exempt roles are never consulted.
    Without `refresh` it awaits only the database (see `ruleset`)."""
    return (await ruleset(bot, guild, refresh=refresh)).check(text, channel_ids)


# What to change, by the words callers name it with, as a whole sentence for translating.
_CHANGE = {
    "the poll": N_("Nothing was saved: please change the poll and try again."),
    "the prompt": N_("Nothing was saved: please change the prompt and try again."),
    "your suggestion": N_("Nothing was saved: please change your suggestion and try again."),
}


def verdict_notice(verdict: Verdict, locale: object = None) -> str:
    """A rule's verdict for the author, in the language of their client's `locale`."""
    return automod.notice(verdict, language_of_locale(locale))


async def refuse_what_rules_stop(
    bot: CircleBot,
    guild: discord.Guild,
    channel: object,
    text: str,
    *,
    what: str,
    locale: object = None,
) -> None:
    """Refuse, privately, words a member or keeper wrote that the bot would post later (a poll,
    a prompt, a suggestion) when a server rule objects. These have no review queue of their
    own, so a rule that would only hold them stops them too, as for a named round share.
    The refusal is in the language of the writer's client `locale` (English without one)."""
    verdict = await check_member_text(bot, guild, channel_ids(channel), text)
    if verdict is not None:
        language = language_of_locale(locale)
        reason = automod.notice(verdict, language)
        change = (
            tr(language, _CHANGE[what])
            if what in _CHANGE
            else f"Nothing was saved: please change {what} and try again."
        )
        raise Refusal(f"{reason}\n{change}")


def channel_ids(channel: object) -> list[int]:
    """A channel's id and, for a thread, its parent's: exempting either exempts the thread."""
    ids = [getattr(channel, "id", 0)]
    parent_id = getattr(channel, "parent_id", None)
    if parent_id:
        ids.append(parent_id)
    return ids


async def describe_rules(bot: CircleBot, guild: discord.Guild, language: str = ENGLISH) -> str:
    """`/setup show`'s lines on the server's rules, in `language` (the admin's): what applies
    to members' words the bot posts, what cannot, and what to grant."""
    await bot.server_rules.load(guild)  # a permission may have been granted just now
    rules = bot.server_rules
    lines = [tr(language, "**Server rules on anonymous posts and other words posted for members**")]
    if not rules.readable(guild.id):
        lines.append(
            tr(
                language,
                "AutoMod rules: **not applied**. Circlekeeper needs **Manage Server** to read "
                "them (Discord's AutoMod never checks messages a bot sends). Grant it to "
                "Circlekeeper's role and the rules apply from then; nothing else needs it.",
            )
        )
    else:
        applied = rules.rules(guild.id)
        names = ", ".join(f"**{r.name}**" for r in applied) or tr(language, "none")
        lines.append(tr(language, "AutoMod keyword rules applied: {names}.", names=names))
        skipped = RuleSet(applied).skipped_patterns()
        for name, pattern in skipped:
            lines.append(
                tr(
                    language,
                    "Rule **{name}**: the pattern `{pattern}` could not be read by a "
                    "linear-time regex engine, so it is skipped.",
                    name=name,
                    pattern=pattern[:100],
                )
            )
        presets = rules.presets(guild.id)
        if presets:
            lines.append(
                tr(
                    language,
                    "Keyword-preset rules ({names}) cannot be read by bots, so they do not "
                    "cover anonymous posts.",
                    names=", ".join(f"**{n}**" for n in presets),
                )
            )
        lines.append(
            tr(
                language,
                "Exempt roles are ignored for anonymous posts: honouring them would let whoever "
                "edits a rule learn whether an author holds a role. Exempt channels apply.",
            )
        )
    entries = await automod.words(bot.db, guild.id)
    lines.append(
        tr(
            language,
            "This server's word list: {count} entries (`/setup filter list`).",
            count=len(entries),
        )
        if entries
        else tr(language, "This server's word list: empty (`/setup filter add` to add words).")
    )
    return "\n".join(lines)
