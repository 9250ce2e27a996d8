"""Domain logic as plain functions and dataclasses over the database. Never imports discord."""
