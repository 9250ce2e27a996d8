"""`/mod`, "Report to moderators" and the moderators' buttons.

Rules this package keeps (see DESIGN.md, threat model):
- anonymous posts are removed by the bot itself, so no audit-log entry names their author;
- authors of anonymous posts are blocked by the post's label key: nothing here computes or
  stores whose key it is, and nothing is logged about them but their public label;
- a report names no reporter, and no reporter id is stored unless the reporter agreed to be
  contacted; the rate limit keeps only an HMAC of the reporter;
- custom ids hold random tokens, never ids of people;
- queue items mention only the configured moderator role, and only when the server asked.

`cog` holds the `/mod` commands; `views` the persistent buttons; `modals` the report form;
`reports` filing a report; `actions` what moderators' decisions do; `helpers` what they share.
"""

from __future__ import annotations

from bot.client import CircleBot
from cogs.moderation.actions import (
    BLOCKED_FROM_QUEUE,
    REPORT_VERBS,
    decide_held_post,
    decide_report,
    find_post,
    remove_post,
)
from cogs.moderation.cog import PURGE_MINUTES, QUEUE_ITEMS_SHOWN, RECORD_WORDS, Moderation
from cogs.moderation.helpers import (
    LIST_LIMIT,
    REPORT_COLOUR,
    ReportTarget,
    queue_ping,
    report_embed,
)
from cogs.moderation.modals import ReportModal
from cogs.moderation.reports import file_report
from cogs.moderation.views import (
    HELD_BUTTONS,
    REPORT_BUTTONS,
    HeldPostButton,
    ReportButton,
    ReportDecisionButton,
    add_post_buttons,
    add_review_buttons,
    held_view,
    report_view,
)

__all__ = [
    "BLOCKED_FROM_QUEUE",
    "HELD_BUTTONS",
    "LIST_LIMIT",
    "PURGE_MINUTES",
    "QUEUE_ITEMS_SHOWN",
    "RECORD_WORDS",
    "REPORT_BUTTONS",
    "REPORT_COLOUR",
    "REPORT_VERBS",
    "HeldPostButton",
    "Moderation",
    "ReportButton",
    "ReportDecisionButton",
    "ReportModal",
    "ReportTarget",
    "add_post_buttons",
    "add_review_buttons",
    "decide_held_post",
    "decide_report",
    "file_report",
    "find_post",
    "held_view",
    "queue_ping",
    "remove_post",
    "report_embed",
    "report_view",
    "setup",
]


async def setup(bot: CircleBot) -> None:
    bot.add_dynamic_items(ReportButton, HeldPostButton, ReportDecisionButton)
    await bot.add_cog(Moderation(bot))
