"""The Report to moderators form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.i18n import ENGLISH, N_, tr
from bot.layer import custom_ids as ids
from bot.layer.buttons import PersistentButton
from bot.layer.discord_utils import require_member
from bot.layer.errors import ErrorHandlingModal, UserFacingError
from bot.layer.i18n import member_language
from bot.layer.moderation.helpers import ReportTarget
from bot.layer.moderation.reports import file_report
from bot.services import moderation as mod

if TYPE_CHECKING:
    from bot.client import CircleBot


class ReportModal(ErrorHandlingModal):
    """What is wrong, and whether moderators may contact the reporter (no by default), in the
    reporter's `language`."""

    def __init__(self, target: ReportTarget, language: str = ENGLISH) -> None:
        super().__init__(title=tr(language, "Report to moderators"), timeout=900)
        self.target = target
        self.reason: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
            label=tr(language, "What's wrong?"),
            style=discord.TextStyle.paragraph,
            max_length=mod.MAX_REASON,
            custom_id="reason",
            placeholder=tr(
                language, "Moderators see this, the message and a link to it — not your name."
            ),
        )
        # A real choice, not typed words: "no" is chosen until the reporter picks "yes".
        self.contact: discord.ui.Select[ReportModal] = discord.ui.Select(
            custom_id="contact",
            options=[
                discord.SelectOption(
                    label=tr(language, "No: keep my name out of the report"),
                    value="no",
                    default=True,
                ),
                discord.SelectOption(
                    label=tr(language, "Yes: moderators may contact me"), value="yes"
                ),
            ],
        )
        self.add_item(self.reason)
        self.add_item(
            discord.ui.Label(
                text=tr(language, "May moderators contact you?"),
                description=tr(
                    language,
                    "With no, moderators see the message and your words, not your name.",
                ),
                component=self.contact,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        await file_report(
            bot,
            interaction,
            self.target,
            reason=self.reason.value,
            contact=self.contact.values == ["yes"],
        )


class ReportButton(PersistentButton, custom_id=ids.REPORT, label=N_("Report")):
    """Report, on every anonymous post: the reported message is the one carrying the button."""

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        require_member(interaction)
        if interaction.message is None:
            raise UserFacingError(N_("That message is gone, so there is nothing to report."))
        await interaction.response.send_modal(
            ReportModal(ReportTarget.of(interaction.message), member_language(interaction))
        )


def add_post_buttons(view: discord.ui.View, language: str = ENGLISH) -> None:
    """Report, for every anonymous post, in the circle's `language` (bot.layer.posting builds
    that view)."""
    view.add_item(ReportButton(label=tr(language, ReportButton.label)))
