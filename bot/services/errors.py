"""The one base of every refusal a service makes.

A `Refusal` carries the English words shown to the person who asked, as a template marked
`N_("...")` where it is raised, and the values that fill it; the Discord layer answers it
privately in the reader's language in one place (`bot.layer.errors`), so no cog translates
service errors. A value that is itself one of our texts (a field's name) is given as
`Phrase(N_("..."))` and translated with the template; members' own words (a circle's name, a
poll choice) are given as they are and never translated.
"""

from __future__ import annotations


class Refusal(Exception):
    """A request the rules turn down. `template` and `values` are what the reader sees, in
    their language; `message` is the finished English text (for logs and tests)."""

    def __init__(self, message: str, /, **values: object) -> None:
        self.template = message
        self.values = values
        self.message = message.format(**values) if values else message
        super().__init__(self.message)
