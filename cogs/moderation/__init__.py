"""`/mod`, "Report to moderators" and the moderators' buttons.

Rules this package keeps (see DESIGN.md, threat model):
- anonymous posts are removed by the bot itself, so no audit-log entry names their author;
- authors of anonymous posts are blocked by the post's label key: nothing here computes or
  stores whose key it is, and nothing is logged about them but their public label;
- a report names no reporter, and no reporter id is stored unless the reporter agreed to be
  contacted; the rate limit is counted in memory only, by an HMAC of the reporter;
- custom ids hold random tokens, never ids of people;
- queue items mention only the configured moderator role, and only when the server asked.

`cog` holds the `/mod` commands. The buttons on posts and in the queue, the report form and
what moderators' decisions do are in `bot.layer.moderation`, since they sit on other cogs' messages.
"""

from __future__ import annotations

from bot.client import CircleBot
from cogs.moderation.cog import Moderation


async def setup(bot: CircleBot) -> None:
    await bot.add_cog(Moderation(bot))
