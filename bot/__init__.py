"""Circlekeeper: moderated discussion circles on Discord for communities where speaking up is
risky. `python -m bot` runs it; see README.md."""
