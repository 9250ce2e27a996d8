-- Support services a server adds to the resource card with /setup resources.

CREATE TABLE guild_resources (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    name            TEXT    NOT NULL,
    contact         TEXT    NOT NULL,
    url             TEXT,
    region          TEXT,
    confidentiality TEXT    NOT NULL,
    added_at        TEXT    NOT NULL
);
CREATE INDEX guild_resources_guild ON guild_resources (guild_id);
