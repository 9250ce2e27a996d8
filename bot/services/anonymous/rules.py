"""The limits of anonymous posting and the refusals it makes."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from bot.i18n import N_
from bot.services.errors import Refusal

# Shared with every other text the bot posts in a member's words.
from bot.services.textchecks import EXCERPT_CHARS as EXCERPT_CHARS
from bot.services.textchecks import MAX_TEXT as MAX_TEXT

MAX_NOTE = 200
RATE_LIMIT = 5
RATE_WINDOW = timedelta(minutes=10)
DRAFT_TTL = timedelta(minutes=15)

KEY_BYTES = 32
TOKEN_BYTES = 16


# --- errors --------------------------------------------------------------------------------


class AnonError(Refusal):
    """A refusal whose `message` is shown to the user as it is."""


class InvalidText(AnonError):
    """The text cannot be posted as it is; the message says what to change."""


class RateLimited(AnonError):
    """Too many posts in a short time; `retry_at` is when the next one will be accepted."""

    def __init__(self, retry_at: datetime, *, now: datetime) -> None:
        minutes = max(1, math.ceil((retry_at - now).total_seconds() / 60))
        super().__init__(
            N_("You can post again in 1 minute.")
            if minutes == 1
            else N_("You can post again in {minutes} minutes."),
            minutes=minutes,
        )
        self.retry_at = retry_at


class Blocked(AnonError):
    """The author may not post anonymously in this circle at the moment."""

    # Worded not to accuse: the author may not know what happened, and a moderator can
    # explain in private.
    def __init__(
        self,
        message: str = N_(
            "Anonymous posting isn't available to you in this circle right now. "
            "A moderator can tell you more."
        ),
    ) -> None:
        super().__init__(message)


class CircleClosed(AnonError):
    """The circle is closed (or its salt is gone), so there is no anonymous posting in it."""

    def __init__(
        self, message: str = N_("This circle is closed, so anonymous posting has ended here.")
    ) -> None:
        super().__init__(message)


class NotFound(AnonError):
    """The post, draft or block does not exist (any more) or is not in the expected state."""

    def __init__(
        self, message: str = N_("That post no longer exists or was already handled.")
    ) -> None:
        super().__init__(message)
