"""The Report to moderators form."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

from bot.layer import custom_ids as ids
from bot.layer.buttons import PersistentButton
from bot.layer.discord_utils import require_member
from bot.layer.errors import ErrorHandlingModal, UserFacingError
from bot.layer.moderation.helpers import ReportTarget
from bot.layer.moderation.reports import file_report
from bot.services import moderation as mod

if TYPE_CHECKING:
    from bot.client import CircleBot


class ReportModal(ErrorHandlingModal):
    """What is wrong, and whether moderators may contact the reporter (no by default)."""

    def __init__(self, target: ReportTarget) -> None:
        super().__init__(title="Report to moderators", timeout=900)
        self.target = target
        self.reason: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
            label="What's wrong?",
            style=discord.TextStyle.paragraph,
            max_length=mod.MAX_REASON,
            custom_id="reason",
            placeholder="Moderators see this, the message and a link to it — not your name.",
        )
        # A real choice, not typed words: "no" is chosen until the reporter picks "yes".
        self.contact: discord.ui.Select[ReportModal] = discord.ui.Select(
            custom_id="contact",
            options=[
                discord.SelectOption(
                    label="No: keep my name out of the report", value="no", default=True
                ),
                discord.SelectOption(label="Yes: moderators may contact me", value="yes"),
            ],
        )
        self.add_item(self.reason)
        self.add_item(
            discord.ui.Label(
                text="May moderators contact you?",
                description="With no, moderators see the message and your words, not your name.",
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


class ReportButton(PersistentButton, custom_id=ids.REPORT, label="Report"):
    """Report, on every anonymous post: the reported message is the one carrying the button."""

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        require_member(interaction)
        if interaction.message is None:
            raise UserFacingError("That message is gone, so there is nothing to report.")
        await interaction.response.send_modal(ReportModal(ReportTarget.of(interaction.message)))


def add_post_buttons(view: discord.ui.View) -> None:
    """Report, for every anonymous post (bot.layer.posting builds that view)."""
    view.add_item(ReportButton())
