-- Per-server configuration and the moderation log.

CREATE TABLE guild_config (
    guild_id              INTEGER PRIMARY KEY,
    moderator_role_id     INTEGER,
    queue_channel_id      INTEGER,
    modlog_channel_id     INTEGER,
    escalation_channel_id INTEGER,
    retention_days        INTEGER NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 365),
    delay_max_seconds     INTEGER NOT NULL DEFAULT 0 CHECK (delay_max_seconds BETWEEN 0 AND 600),
    ping_moderators       INTEGER NOT NULL DEFAULT 0 CHECK (ping_moderators IN (0, 1))
);

-- Named actions keep the member's id (until that member deletes their data); actions on
-- anonymous posts keep only the label, never an author id.
CREATE TABLE mod_log (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    moderator_id   INTEGER,
    action         TEXT    NOT NULL,
    target_user_id INTEGER,
    target_label   TEXT,
    details        TEXT    NOT NULL DEFAULT '',
    created_at     TEXT    NOT NULL
);
CREATE INDEX mod_log_guild_time ON mod_log (guild_id, created_at);
