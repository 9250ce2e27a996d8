-- Circles, their keepers, agreements and members, and the prompts posted in them.

CREATE TABLE circles (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL,
    channel_id         INTEGER NOT NULL,          -- the text channel holding the card
    thread_id          INTEGER UNIQUE,            -- NULL only while the thread is being made
    card_message_id    INTEGER,
    name               TEXT    NOT NULL,
    deck_id            TEXT    NOT NULL,
    private            INTEGER NOT NULL CHECK (private IN (0, 1)),
    review             INTEGER NOT NULL CHECK (review IN (0, 1)),
    strict             INTEGER NOT NULL CHECK (strict IN (0, 1)),
    -- Random per-circle salt for anonymous labels; set to NULL (destroyed) when closed.
    salt               BLOB,
    state              TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_at         TEXT    NOT NULL,
    closed_at          TEXT
);
CREATE UNIQUE INDEX circles_open_name ON circles (guild_id, name COLLATE NOCASE)
    WHERE state = 'open';
CREATE INDEX circles_guild_state ON circles (guild_id, state);

CREATE TABLE circle_keepers (
    circle_id INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL,
    PRIMARY KEY (circle_id, user_id)
);

-- A circle's agreements, copied from prompts/agreements.toml at creation, plus those keepers add.
CREATE TABLE circle_agreements (
    circle_id INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    short     TEXT    NOT NULL,
    text      TEXT    NOT NULL,
    PRIMARY KEY (circle_id, position)
);

-- agreed_count: how many of the circle's agreements the member accepted; fewer than the
-- circle has means they must accept the new ones before they next take part.
CREATE TABLE memberships (
    circle_id    INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    agreed_count INTEGER NOT NULL,
    agreed_at    TEXT    NOT NULL,
    PRIMARY KEY (circle_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- Members a keeper removed: they cannot rejoin that circle. Kept as HMAC-SHA256(master
-- secret, "removed:" + user id), not the id, so the bar outlives the member deleting their
-- data and the database alone does not say who was removed.
CREATE TABLE circle_removals (
    circle_id  INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    member_key BLOB    NOT NULL,
    PRIMARY KEY (circle_id, member_key)
);

-- Prompts a keeper added for one circle only; their prompt id is "c<id>".
CREATE TABLE custom_prompts (
    id           INTEGER PRIMARY KEY,
    circle_id    INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    text         TEXT    NOT NULL,
    content_note TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL
);

CREATE TABLE posted_prompts (
    circle_id  INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    prompt_id  TEXT    NOT NULL,
    message_id INTEGER,
    posted_at  TEXT    NOT NULL,
    PRIMARY KEY (circle_id, prompt_id)
);
CREATE INDEX posted_prompts_message ON posted_prompts (message_id);

CREATE TABLE prompt_schedules (
    circle_id   INTEGER PRIMARY KEY REFERENCES circles (id) ON DELETE CASCADE,
    every_hours INTEGER NOT NULL CHECK (every_hours BETWEEN 1 AND 720),
    next_at     TEXT    NOT NULL
);
CREATE INDEX prompt_schedules_due ON prompt_schedules (next_at);
