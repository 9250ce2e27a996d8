"""Circles: the `/circle` command group, the circle card and its buttons."""

from cogs.circles.cog import setup

__all__ = ["setup"]
