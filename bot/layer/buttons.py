"""Persistent buttons: the custom id carries the button's state, so clicks survive restarts.

A button is declared by its custom id (from `bot.layer.custom_ids`, which lists them all), its
label and its style, and implements only `run`, reading the id's fields as attributes:

    class AgreeButton(PersistentButton, custom_id=ids.AGREE, label="I agree"): ...

`AgreeButton(7, 3)` carries the custom id `ck:circle:agree:7:3`. After a restart a click on it
matches `ck:circle:agree:(?P<circle_id>[0-9]+):(?P<count>[0-9]+)` and is rebuilt as
`AgreeButton(7, 3)`. Already-posted messages keep their custom ids, so a declared id never
changes once a button has been sent.

Errors in `run` become private replies (see `GuardedItem`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import discord

from bot.layer.custom_ids import NUMBER, SLUG, TOKEN, CustomId, Field, one_of
from bot.layer.errors import GuardedItem

__all__ = ["NUMBER", "SLUG", "TOKEN", "Field", "PersistentButton", "one_of", "persistent_view"]


class PersistentButton(
    GuardedItem,
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    # Matches nothing: only the subclasses, each with its own template, are registered.
    template=r"(?!)",
):
    """A button rebuilt from its custom id; subclasses declare it and implement `run`.

    Class keywords: `custom_id`, its declaration in `bot.layer.custom_ids` (each field becomes
    an attribute; a left-out optional last field is `None`); `label` and `style`, the
    button's look unless `look` is overridden.

    Instances take the field values in order (or by name), and may override the label and
    set an emoji: `JoinButton(circle.id, label="Read and accept")`.
    """

    prefix: ClassVar[str] = ""
    fields: ClassVar[Mapping[str, Field]] = {}
    optional_last: ClassVar[bool] = False
    label: ClassVar[str] = ""
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    declared: ClassVar[CustomId]  # its entry in bot.layer.custom_ids

    def __init_subclass__(
        cls,
        *,
        custom_id: CustomId,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        fields = dict(custom_id.fields)
        optional_last = custom_id.optional_last
        taken = [name for name in fields if name == "emoji" or hasattr(PersistentButton, name)]
        if taken:
            raise TypeError(f"{cls.__name__}: field names {taken} clash with the button's own")
        if optional_last and not fields:
            raise TypeError(f"{cls.__name__}: optional_last needs at least one field")
        cls.declared = custom_id
        cls.prefix = custom_id.prefix
        cls.fields = fields
        cls.optional_last = optional_last
        cls.label = label
        cls.style = style
        super().__init_subclass__(template=custom_id.template)

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
        return self.declared.make(*(getattr(self, name) for name in self.fields))


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
