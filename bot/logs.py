"""Logging set-up. Our own log lines never hold message content or the user ids of anonymous
actions; third-party loggers that would (discord.py's HTTP and gateway debug lines, aiosqlite's
per-statement lines with SQL parameters) are held at INFO whatever LOG_LEVEL says."""

from __future__ import annotations

import logging

# These libraries log request bodies, gateway payloads or SQL parameters at DEBUG.
CHATTY_LOGGERS = ("discord", "aiosqlite", "simcord")


def quiet_third_party_loggers() -> None:
    """Keep libraries that log payloads at DEBUG from ever doing so. Idempotent."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


def configure_logging(level: str) -> None:
    """Set up logging once for the process, at `level` for the bot's own modules."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-8s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    quiet_third_party_loggers()
