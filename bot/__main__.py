"""Entry point: `python -m bot [sync|demo|check|backup [path]|forget-user USER_ID [--guild ID]]`
or the `circlekeeper` command.

- no argument: run the bot (with no DISCORD_TOKEN: an offline rehearsal in the browser);
- `demo`: play a whole circle in a simulated server and print what each person saw;
- `sync`: push the slash commands to Discord once, then exit;
- `check`: verify the configuration without connecting or changing anything, then exit;
- `backup [path]`: write a consistent copy of the database, then exit;
- `forget-user USER_ID [--guild ID]`: delete what `/mydata delete` deletes for an account that
  can no longer ask (a deleted Discord account), in one server or all, then exit.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import discord

from bot import forget as forgetting
from bot.check import report, run_checks
from bot.client import create_bot
from bot.db import DatabaseError
from bot.decks import DeckError
from bot.files import use_private_umask
from bot.logs import configure_logging
from bot.services.safety import BackupError, backup_database, default_backup_path
from bot.settings import Settings, SettingsError, read_environment

log = logging.getLogger("bot")

EXIT_CONFIG = 2

NO_TOKEN_MESSAGE = """\
No DISCORD_TOKEN is set, so Circlekeeper cannot connect to Discord.

To get a token:
  1. Open https://discord.com/developers/applications and choose "New Application".
  2. Under "Bot", choose "Reset Token" and copy the token.
  3. Put it in a file named .env in this folder:  DISCORD_TOKEN=your-token
     (.env.example lists every setting). Never commit or share the token.
Then run `make run` again. README.md explains how to invite the bot to your server."""


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="circlekeeper", description=__doc__)
    parser.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=("run", "sync", "demo", "check", "backup", "forget-user"),
        help="run the bot (default), push slash commands once, play the demo, check the "
        "configuration, back up, or delete an account's data",
    )
    parser.add_argument(
        "path", nargs="?", help="for backup: where to write the copy; for forget-user: USER_ID"
    )
    parser.add_argument("--guild", help="for forget-user: only this server's id")
    return parser.parse_args(argv)


BACKUP_REMINDER = """\
Keep the secret file ({secret}) with this backup, but store it apart from it:
- without the secret, blocks and /anon mine stop matching anyone after a restore;
- anyone holding both the secret and the database can compute anonymous labels."""


def _backup(settings: Settings, path: str | None) -> int:
    target = Path(path) if path else default_backup_path(settings.database_path, datetime.now(UTC))
    try:
        written = backup_database(settings.database_path, target)
    except BackupError as error:
        print(f"Backup failed: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"Backed up {settings.database_path} to {written}.")
    print(BACKUP_REMINDER.format(secret=settings.secret_file))
    return 0


def forget_user(settings: Settings, user_id: str | None, guild_id: str | None) -> int:
    """`forget-user`: the named rows `/mydata delete` removes, printed per table."""
    try:
        user = forgetting.parse_id(user_id, "USER_ID")
        guild = None if guild_id is None else forgetting.parse_id(guild_id, "--guild")
    except forgetting.BadId as error:
        print(error.message, file=sys.stderr)
        return EXIT_CONFIG
    if not settings.database_path.exists():
        print(f"There is no database at {settings.database_path}; nothing to forget.")
        return 0
    try:
        report = asyncio.run(forgetting.forget_user(settings.database_path, user, guild))
    except DatabaseError as error:
        print(f"Database error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    print(report)
    return 0


async def _run(settings: Settings, *, sync_only: bool) -> None:
    bot = create_bot(settings)
    if sync_only:
        async with bot:
            await bot.login(settings.discord_token or "")  # runs setup_hook: cogs load
            commands = await bot.tree.sync()
            print(f"Pushed {len(commands)} slash commands to Discord.")
        return
    async with bot:
        await bot.start(settings.discord_token or "")


def _check_without_files(environment: Mapping[str, str]) -> None:
    """Validate the settings as `from_env` does, with the database and secret somewhere
    temporary. Raises SettingsError."""
    with tempfile.TemporaryDirectory(prefix="circlekeeper-check-") as scratch:
        Settings.from_env(
            {
                **environment,
                "DATABASE_PATH": str(Path(scratch) / "unused.db"),
                "CIRCLEKEEPER_SECRET": secrets.token_hex(32),
            }
        )


def _quiet_simulation_logging() -> None:
    """Only what concerns the person running a rehearsal or the demo: the bot's own warnings
    and errors, none of discord.py's start-up notes (no voice support, a static token,
    intents) or migration lines, which are about a connection and a database not used here."""
    configure_logging("WARNING")
    logging.getLogger("discord").setLevel(logging.ERROR)


def _rehearse() -> int:
    """With no token: explain how to get one, then run the offline rehearsal if installed."""
    print(NO_TOKEN_MESSAGE, file=sys.stderr)
    try:
        # Imported on use: the rehearsal needs simcord, which the live bot never loads.
        from rehearsal import run_rehearsal
    except ImportError:
        print(
            "\nThe offline rehearsal is not installed (pip install -e '.[rehearsal]').",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    _quiet_simulation_logging()
    print(
        "\nThere is no token, so this is an offline rehearsal: the real bot in a simulated "
        "server, with a throwaway database. Nothing reaches Discord.",
        file=sys.stderr,
    )
    try:
        asyncio.run(run_rehearsal())
    except KeyboardInterrupt:
        print("Rehearsal stopped.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.action == "check":  # before settings are built: building them creates files
        text, status = report(run_checks(read_environment()))
        print(text)
        return status
    # Before anything is written: the database, its WAL, backups and the secret hold what
    # no other user of this machine may read.
    use_private_umask()
    environment = read_environment()
    if args.action == "demo":
        # Imported on use: the demo needs simcord, which the live bot never loads. Like the
        # rehearsal it uses a throwaway secret and database, so no settings are built.
        from rehearsal import run_demo

        _quiet_simulation_logging()
        return asyncio.run(run_demo())
    if args.action == "run" and not (environment.get("DISCORD_TOKEN") or "").strip():
        # A rehearsal uses a throwaway secret and database: check the other settings without
        # creating data/ or data/secret.key in the project.
        try:
            _check_without_files(environment)
        except SettingsError as error:
            print(f"Configuration error: {error}", file=sys.stderr)
            return EXIT_CONFIG
        return _rehearse()
    try:
        settings = Settings.from_env(environment)
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level)
    if args.action == "backup":
        return _backup(settings, args.path)
    if args.action == "forget-user":
        return forget_user(settings, args.path, args.guild)
    if settings.discord_token is None:
        print(NO_TOKEN_MESSAGE, file=sys.stderr)
        return EXIT_CONFIG
    try:
        asyncio.run(_run(settings, sync_only=args.action == "sync"))
    except DeckError as error:
        print(f"Prompt file error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseError as error:
        print(f"Database error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except discord.LoginFailure:
        print(
            "Discord refused DISCORD_TOKEN. Copy the token again from the Developer Portal "
            "(Bot -> Reset Token) into .env.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except KeyboardInterrupt:
        log.info("Stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
