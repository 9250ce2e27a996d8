"""Persistent buttons: the custom id carries the button's state, so clicks survive restarts.

A button is declared by its custom id's prefix, the fields that follow it, its label and its
style, and implements only `run`, reading the fields as attributes:

    class AgreeButton(PersistentButton, prefix="ck:circle:agree", label="I agree",
                      fields={"circle_id": NUMBER, "count": NUMBER}): ...

`AgreeButton(7, 3)` carries the custom id `ck:circle:agree:7:3`. After a restart a click on it
matches `ck:circle:agree:(?P<circle_id>[0-9]+):(?P<count>[0-9]+)` and is rebuilt as
`AgreeButton(7, 3)`. Already-posted messages keep their custom ids, so a prefix, a field's
name, pattern or place must not change once a button has been sent.

Errors in `run` become private replies (see `GuardedItem`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import discord

from bot.layer.errors import GuardedItem


@dataclass(frozen=True, slots=True)
class Field:
    """One `:`-separated part of a custom id: the regex it matches and how it is read back."""

    pattern: str
    parse: Callable[[str], Any] = str


TOKEN = Field(r"[A-Za-z0-9_-]+")  # the random tokens of `secrets.token_urlsafe`
NUMBER = Field(r"[0-9]+", int)  # a database row id or a count
SLUG = Field(r"[a-z0-9-]+")  # lower-case ids: prompt ids ("c12" too), check-in weather ids


def one_of(*words: str) -> Field:
    """A field that is one of a few fixed words, such as a moderator's decision."""
    return Field("|".join(words))


def custom_id_template(prefix: str, fields: Mapping[str, Field], *, optional_last: bool) -> str:
    parts = [f":(?P<{name}>{field.pattern})" for name, field in fields.items()]
    if optional_last:
        parts[-1] = f"(?:{parts[-1]})?"
    return re.escape(prefix) + "".join(parts)


class PersistentButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    # Matches nothing: only the subclasses, each with its own template, are registered.
    template=r"(?!)",
):
    """A button rebuilt from its custom id; subclasses declare it and implement `run`.

    Class keywords: `prefix`, the custom id's fixed start; `fields`, the values after it in
    order (each becomes an attribute); `optional_last`, whether the last field may be left out
    (`None`), leaving the custom id without it; `label` and `style`, the button's look
    unless `look` is overridden.

    Instances take the field values in order (or by name), and may override the label and
    set an emoji: `JoinButton(circle.id, label="Read and accept")`.
    """

    prefix: ClassVar[str] = ""
    fields: ClassVar[Mapping[str, Field]] = {}
    optional_last: ClassVar[bool] = False
    label: ClassVar[str] = ""
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init_subclass__(
        cls,
        *,
        prefix: str,
        fields: Mapping[str, Field] | None = None,
        optional_last: bool = False,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        fields = dict(fields or {})
        taken = [name for name in fields if name == "emoji" or hasattr(PersistentButton, name)]
        if taken:
            raise TypeError(f"{cls.__name__}: field names {taken} clash with the button's own")
        if optional_last and not fields:
            raise TypeError(f"{cls.__name__}: optional_last needs at least one field")
        cls.prefix = prefix
        cls.fields = fields
        cls.optional_last = optional_last
        cls.label = label
        cls.style = style
        super().__init_subclass__(
            template=custom_id_template(prefix, fields, optional_last=optional_last)
        )

    def __init__(
        self,
        *values: Any,
        label: str | None = None,
        emoji: str | None = None,
        **named: Any,
    ) -> None:
        self._set_fields(values, named)
        usual_label, style = self.look()
        super().__init__(
            discord.ui.Button(
                label=label or usual_label,
                style=style,
                emoji=emoji,
                custom_id=self._custom_id(),
            )
        )

    def look(self) -> tuple[str, discord.ButtonStyle]:
        """The label and style; override where they depend on the fields' values."""
        return self.label, self.style

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> Self:
        return cls(
            *(
                None if match[name] is None else field.parse(match[name])
                for name, field in cls.fields.items()
            )
        )

    def _set_fields(self, values: tuple[Any, ...], named: dict[str, Any]) -> None:
        where = type(self).__name__
        names = list(self.fields)
        if len(values) > len(names):
            raise TypeError(f"{where} takes {len(names)} field values, got {len(values)}")
        given = dict(zip(names, values, strict=False))
        for name, value in named.items():
            if name not in self.fields or name in given:
                raise TypeError(f"{where} got an unexpected or repeated field {name!r}")
            given[name] = value
        for name in names:
            if name not in given:
                if not (self.optional_last and name == names[-1]):
                    raise TypeError(f"{where} is missing the field {name!r}")
                given[name] = None
            setattr(self, name, given[name])

    def _custom_id(self) -> str:
        values = [getattr(self, name) for name in self.fields]
        if self.optional_last and values[-1] is None:
            values.pop()
        return ":".join([self.prefix, *map(str, values)])


def persistent_view() -> discord.ui.View:
    """An empty view for sending `PersistentButton`s: add the buttons, then send it.

    It is stopped from the start, so discord.py sends its buttons without keeping the view
    (and, for private replies, a 15-minute timer) in memory for every message. Clicks reach
    the registered button classes instead, after a restart too. Only persistent buttons
    belong in it: an ordinary button's callback would never run.
    """
    view = discord.ui.View(timeout=None)
    view.stop()
    return view
