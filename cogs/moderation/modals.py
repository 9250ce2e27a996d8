"""The Report to moderators form."""

from __future__ import annotations

from typing import Any

import discord

from bot.client import CircleBot
from bot.errors import ErrorHandlingModal
from bot.services import moderation as mod
from cogs.moderation.helpers import ReportTarget
from cogs.moderation.reports import file_report


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
        self.contact: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
            label="May moderators contact you? Type yes or no",
            style=discord.TextStyle.short,
            max_length=10,
            required=False,
            custom_id="contact",
            placeholder="Empty means no: your name stays out of the report.",
        )
        self.add_item(self.reason)
        self.add_item(self.contact)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: CircleBot = interaction.client
        await file_report(
            bot,
            interaction,
            self.target,
            reason=self.reason.value,
            contact=mod.wants_contact(self.contact.value),
        )
