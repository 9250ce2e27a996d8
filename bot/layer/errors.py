"""Refusals and errors users see: the one place where either becomes a private reply.

A refusal (`bot.services.errors.Refusal`, which every service error and `UserFacingError`
are) is an answer, not a failure: `answers_refusals` wraps every command, context menu,
button and form callback, so the refusal is answered privately, in the member's language
(`refusal_text`), and the callback ends normally; the command tree's error handler never
sees it. Failed checks become plain-language
replies; anything unexpected reaches the tree (or the view's `on_error`), is logged with a
short error id and the user is told that id, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

import discord
from discord import app_commands

from bot.i18n import ENGLISH, N_, language_of_locale, tr
from bot.services.errors import Refusal

log = logging.getLogger(__name__)
Callback = TypeVar("Callback", bound=Callable[..., Coroutine[Any, Any, Any]])

NO_MENTIONS = discord.AllowedMentions.none()


class UserFacingError(Refusal, app_commands.AppCommandError):
    """A refusal decided in the Discord layer or a cog, explained in plain words."""


class NotPermitted(UserFacingError, app_commands.CheckFailure):
    """Refused by who the user is. Raised in a cog's `interaction_check`, before any command
    runs, it is a failed check: the tree answers it (with this message) like any other."""


# The names Discord's own settings give these permissions, in each language's client.
_PERMISSION_NAMES = {
    "manage_guild": N_("Manage Server"),
    "manage_messages": N_("Manage Messages"),
    "manage_threads": N_("Manage Threads"),
    "moderate_members": N_("Timeout Members"),
    "create_private_threads": N_("Create Private Threads"),
    "create_public_threads": N_("Create Public Threads"),
    "send_messages_in_threads": N_("Send Messages in Threads"),
}


def permission_names(permissions: list[str], language: str = ENGLISH) -> str:
    return ", ".join(
        tr(language, _PERMISSION_NAMES[p])
        if p in _PERMISSION_NAMES
        else p.replace("_", " ").title()
        for p in permissions
    )


def refusal_text(language: str, refusal: Refusal) -> str:
    """What a refusal says, in `language`: its English template translated, then filled with
    its values. Our own words among them (`Phrase`) are translated too; members' own words
    (a circle's name, a poll choice) are shown exactly as they wrote them."""
    return tr(language, refusal.template, **refusal.values)


def describe_error(error: BaseException, language: str = ENGLISH) -> tuple[str, str | None]:
    """The message to show for `error` in `language`, and an error id when it was
    unexpected."""
    original = getattr(error, "original", None) or error
    if isinstance(original, Refusal):
        return refusal_text(language, original), None
    if isinstance(error, app_commands.NoPrivateMessage):
        return tr(language, "This command only works inside a server."), None
    if isinstance(error, app_commands.MissingPermissions):
        return (
            tr(
                language,
                "You need the {permissions} permission for this.",
                permissions=permission_names(error.missing_permissions, language),
            ),
            None,
        )
    if isinstance(error, app_commands.BotMissingPermissions):
        return (
            tr(
                language,
                "I am missing the {permissions} permission here. "
                "A server admin can grant it in the channel or role settings.",
                permissions=permission_names(error.missing_permissions, language),
            ),
            None,
        )
    if isinstance(error, app_commands.CommandOnCooldown):
        return (
            tr(
                language,
                "Slow down a little: try again in {seconds} seconds.",
                seconds=f"{error.retry_after:.0f}",
            ),
            None,
        )
    if isinstance(error, app_commands.CheckFailure):
        return tr(language, "You can't use this here."), None
    if isinstance(error, app_commands.TransformerError):
        return (
            tr(language, "That value could not be understood; please check it and try again."),
            None,
        )
    if isinstance(original, discord.Forbidden):
        return (
            tr(
                language,
                "Discord refused: I don't have the permission to do that here. "
                "A server admin can check my role and the channel's permissions.",
            ),
            None,
        )
    if isinstance(original, discord.NotFound):
        return tr(language, "That no longer exists on Discord (it may have been deleted)."), None
    if isinstance(original, discord.DiscordServerError):
        return (
            tr(
                language,
                "Discord is having trouble right now. Nothing was changed; please try again.",
            ),
            None,
        )
    error_id = secrets.token_hex(4)
    return (
        tr(
            language,
            "Something went wrong (error id {error_id}). Please try again; if it keeps "
            "happening, tell a moderator this error id.",
            error_id=error_id,
        ),
        error_id,
    )


async def answer_refusal(interaction: discord.Interaction[Any], refusal: Refusal) -> None:
    """Answer a refusal privately, in the language of the member's own Discord client."""
    await reply_privately(
        interaction, refusal_text(language_of_locale(interaction.locale), refusal)
    )


async def reply_privately(interaction: discord.Interaction[Any], content: str) -> None:
    """Answer ephemerally whether or not the interaction was already answered or deferred.
    `content` is already in the member's language."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                content, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException:
        log.warning("Could not deliver an error message for interaction %s", interaction.id)


async def handle_interaction_error(
    interaction: discord.Interaction[Any], error: BaseException, where: str
) -> None:
    """Turn `error` into a private reply; log unexpected ones with their error id."""
    message, error_id = describe_error(error, language_of_locale(interaction.locale))
    if error_id is not None:
        original = getattr(error, "original", None) or error
        log.error(
            "Unexpected error %s in %s",
            error_id,
            where,
            exc_info=(type(original), original, original.__traceback__),
        )
    await reply_privately(interaction, message)


def answers_refusals(callback: Callback) -> Callback:
    """Wrap an interaction callback so a refusal is answered privately where it is raised.

    The interaction is found among the callback's arguments; anything but a refusal goes on
    to the usual handler."""
    if getattr(callback, "__answers_refusals__", False):
        return callback

    @functools.wraps(callback)
    async def answering(*args: Any, **kwargs: Any) -> Any:
        try:
            return await callback(*args, **kwargs)
        except Refusal as refusal:
            interaction = next(
                a for a in (*args, *kwargs.values()) if isinstance(a, discord.Interaction)
            )
            await answer_refusal(interaction, refusal)
            return None

    answering.__answers_refusals__ = True  # type: ignore[attr-defined]
    return cast(Callback, answering)


def _answer_refusals_in(command: Any) -> None:
    """Wrap the callbacks of a command, a context menu or every command of a group."""
    if isinstance(command, app_commands.Group):
        for child in command.walk_commands():
            _answer_refusals_in(child)
    elif isinstance(command, app_commands.Command | app_commands.ContextMenu):
        # discord.py keeps the callback it calls here; the parameters were read already.
        command._callback = answers_refusals(command._callback)


class CircleTree(app_commands.CommandTree[Any]):
    """A command tree whose commands answer refusals themselves, and whose errors become
    ephemeral replies."""

    def add_command(self, command: Any, /, **kwargs: Any) -> None:
        _answer_refusals_in(command)
        super().add_command(command, **kwargs)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.qualified_name if interaction.command else "a command"
        await handle_interaction_error(interaction, error, f"/{name}")


class ErrorHandlingView(discord.ui.View):
    """A view whose items answer refusals, and whose other errors get the same handling as
    commands."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item in self.children:
            item.callback = answers_refusals(item.callback)  # type: ignore[method-assign]

    def add_item(self, item: discord.ui.Item[Any]) -> Any:
        item.callback = answers_refusals(item.callback)  # type: ignore[method-assign]
        return super().add_item(item)

    async def on_error(
        self,
        interaction: discord.Interaction[Any],
        error: Exception,
        item: discord.ui.Item[Any],
    ) -> None:
        await handle_interaction_error(interaction, error, f"a {type(self).__name__} button")


class ErrorHandlingModal(discord.ui.Modal):
    """A modal that answers refusals, and whose other errors get the same handling as
    commands."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "on_submit" in cls.__dict__:
            cls.on_submit = answers_refusals(cls.__dict__["on_submit"])  # type: ignore[method-assign]

    async def on_error(  # type: ignore[override]  # Modal.on_error takes no item
        self, interaction: discord.Interaction[Any], error: Exception
    ) -> None:
        await handle_interaction_error(interaction, error, f"the {type(self).__name__} form")


class GuardedItem:
    """Mix into a `discord.ui.DynamicItem` ahead of it: implement `run` instead of `callback`.

    Persistent buttons are dispatched outside any view of ours, so their errors are caught
    here and answered the same way as commands.
    """

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.run(interaction)
        except Refusal as refusal:
            await answer_refusal(interaction, refusal)
        except Exception as error:
            await handle_interaction_error(interaction, error, f"the {type(self).__name__}")
