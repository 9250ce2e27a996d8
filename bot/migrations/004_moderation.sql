-- Moderation: members' reports, the reporter-blind report rate limit, and named records
-- (warnings, timeouts, private notes) about members.

-- A report holds no reporter id unless the reporter agreed to be contacted (contact_user_id).
-- snapshot and reason are kept only while the report is open.
-- anonymous: the reported message is one of the bot's anonymous posts (Remove is offered).
-- escalated: the reported message's author is a moderator or a keeper of that circle.
CREATE TABLE reports (
    id               INTEGER PRIMARY KEY,
    token            TEXT    NOT NULL UNIQUE,
    guild_id         INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,
    message_id       INTEGER NOT NULL,
    anonymous        INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    escalated        INTEGER NOT NULL CHECK (escalated IN (0, 1)),
    snapshot         TEXT,
    reason           TEXT,
    contact_user_id  INTEGER,
    queue_channel_id INTEGER,
    queue_message_id INTEGER,
    status           TEXT    NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'removed', 'dismissed', 'handled')),
    created_at       TEXT    NOT NULL,
    decided_at       TEXT
);
CREATE INDEX reports_guild_status ON reports (guild_id, status, created_at);
CREATE INDEX reports_message ON reports (message_id);

-- One row per report filed, keyed by HMAC-SHA256(per-server key, reporter id) and never by
-- the id itself; rows are purged once they are older than the rate-limit window.
CREATE TABLE report_limits (
    reporter_key BLOB NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX report_limits_key ON report_limits (reporter_key, created_at);
CREATE INDEX report_limits_time ON report_limits (created_at);

-- Warnings, timeouts and private notes about a named member. The member's id stays until that
-- member deletes their data (then target_user_id becomes NULL and the record stays).
CREATE TABLE mod_records (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('warning', 'timeout', 'note')),
    target_user_id INTEGER,
    moderator_id   INTEGER,
    text           TEXT    NOT NULL DEFAULT '',
    minutes        INTEGER,
    dm_delivered   INTEGER CHECK (dm_delivered IN (0, 1)),
    created_at     TEXT    NOT NULL
);
CREATE INDEX mod_records_member ON mod_records (guild_id, target_user_id, created_at);
