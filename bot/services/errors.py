"""The one base of every refusal a service makes.

A `Refusal` carries the words shown to the person who asked, as they are; the Discord layer
answers it privately in one place (`bot.layer.errors`), so no cog translates service errors.
"""

from __future__ import annotations


class Refusal(Exception):
    """A request the rules turn down; `message` is shown to the user as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
