-- Anonymous posts now wait a random time of up to two minutes by default, so a post's timing
-- does not point at whoever was just active. SQLite cannot change a column's default in
-- place, so guild_config is rebuilt with the new default. Servers still on the old default
-- (no delay) move to the new one, and each gets one notice in its mod log saying so: the
-- notice waits in pending_notices until the bot, once started, has posted it.

CREATE TABLE pending_notices (
    guild_id INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    PRIMARY KEY (guild_id, kind)
);

INSERT INTO pending_notices (guild_id, kind)
SELECT guild_id, 'delay_default' FROM guild_config WHERE delay_max_seconds = 0;

CREATE TABLE guild_config_new (
    guild_id              INTEGER PRIMARY KEY,
    moderator_role_id     INTEGER,
    queue_channel_id      INTEGER,
    modlog_channel_id     INTEGER,
    escalation_channel_id INTEGER,
    retention_days        INTEGER NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 365),
    delay_max_seconds     INTEGER NOT NULL DEFAULT 120 CHECK (delay_max_seconds BETWEEN 0 AND 600),
    ping_moderators       INTEGER NOT NULL DEFAULT 0 CHECK (ping_moderators IN (0, 1))
);

INSERT INTO guild_config_new (guild_id, moderator_role_id, queue_channel_id, modlog_channel_id,
    escalation_channel_id, retention_days, delay_max_seconds, ping_moderators)
SELECT guild_id, moderator_role_id, queue_channel_id, modlog_channel_id, escalation_channel_id,
    retention_days, CASE delay_max_seconds WHEN 0 THEN 120 ELSE delay_max_seconds END,
    ping_moderators
FROM guild_config;

DROP TABLE guild_config;

ALTER TABLE guild_config_new RENAME TO guild_config;
