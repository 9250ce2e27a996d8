-- Join gates: a member whose account, or whose time in the server, is younger than these many
-- days cannot join a circle unless a keeper admits them. 0 = no gate.
ALTER TABLE guild_config ADD COLUMN gate_account_days INTEGER NOT NULL DEFAULT 0
    CHECK (gate_account_days BETWEEN 0 AND 3650);
ALTER TABLE guild_config ADD COLUMN gate_server_days INTEGER NOT NULL DEFAULT 0
    CHECK (gate_server_days BETWEEN 0 AND 3650);

-- A keeper let this member into this circle despite the join gate (a named action, logged).
CREATE TABLE circle_admissions (
    circle_id   INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    PRIMARY KEY (circle_id, user_id)
);

-- Servers the bot has left: their data is deleted at purge_at unless the bot comes back first.
CREATE TABLE guild_departures (
    guild_id INTEGER PRIMARY KEY,
    left_at  TEXT    NOT NULL,
    purge_at TEXT    NOT NULL
);
CREATE INDEX guild_departures_due ON guild_departures (purge_at);
