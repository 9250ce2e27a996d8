"""Discord glue, one cog per capability: read the interaction, call a service, reply."""
