"""The moderators' persistent buttons: decisions on held posts and on reports."""

from __future__ import annotations

from typing import Any

import discord

from bot.i18n import ENGLISH, N_, tr
from bot.layer import custom_ids as ids
from bot.layer.buttons import PersistentButton, persistent_view
from bot.layer.moderation.actions import decide_held_post, decide_report
from bot.services.moderation import Report

HELD_BUTTONS = {
    "approve": (N_("Approve"), discord.ButtonStyle.success),
    "reject": (N_("Reject"), discord.ButtonStyle.danger),
    "block": (N_("Block author"), discord.ButtonStyle.secondary),
}
REPORT_BUTTONS = {
    "removed": (N_("Remove message"), discord.ButtonStyle.danger),
    "dismissed": (N_("Dismiss"), discord.ButtonStyle.secondary),
    "handled": (N_("Mark handled"), discord.ButtonStyle.success),
}


class HeldPostButton(PersistentButton, custom_id=ids.HELD_POST):
    """A moderator's decision on a held post: Approve, Reject or Block author.

    All three in `/mod queue`; Block author beside `ReviewButton`'s Approve / Reject in the
    queue channel."""

    decision: str
    token: str

    def look(self) -> tuple[str, discord.ButtonStyle]:
        return HELD_BUTTONS[self.decision]

    @classmethod
    def made(cls, decision: str, token: str, language: str) -> HeldPostButton:
        """The button with its label in `language`."""
        return cls(decision, token, label=tr(language, HELD_BUTTONS[decision][0]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await decide_held_post(interaction.client, interaction, self.token, self.decision)


class ReviewButton(HeldPostButton, custom_id=ids.REVIEW):
    """Approve / Reject on a held post in the queue channel: the same decision as
    `HeldPostButton`, under the custom id those messages have carried from the start."""


class ReportDecisionButton(
    PersistentButton,
    custom_id=ids.REPORT_DECISION,
):
    """Remove message / Dismiss / Mark handled on a report."""

    decision: str
    token: str

    def look(self) -> tuple[str, discord.ButtonStyle]:
        return REPORT_BUTTONS[self.decision]

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await decide_report(interaction.client, interaction, self.token, self.decision)


def add_review_buttons(view: discord.ui.View, token: str, language: str = ENGLISH) -> None:
    """Approve, Reject and Block author, for the queue channel's held posts, in the server's
    `language` (bot.layer.posting builds that view)."""
    for decision in ("approve", "reject"):
        view.add_item(ReviewButton.made(decision, token, language))
    view.add_item(HeldPostButton.made("block", token, language))


def held_view(token: str, language: str = ENGLISH) -> discord.ui.View:
    """A held post's buttons in `/mod queue`, in the moderator's `language`."""
    view = persistent_view()
    for decision in ("approve", "reject", "block"):
        view.add_item(HeldPostButton.made(decision, token, language))
    return view


def report_view(report: Report, language: str = ENGLISH) -> discord.ui.View:
    view = persistent_view()
    # Only the bot's own anonymous posts can be removed from here: a member's message is
    # theirs, and deleting it as the bot would hide who removed it.
    decisions = (
        ("removed", "dismissed", "handled") if report.anonymous else ("dismissed", "handled")
    )
    for decision in decisions:
        label = tr(language, REPORT_BUTTONS[decision][0])
        view.add_item(ReportDecisionButton(decision, report.token, label=label))
    return view
