-- Anonymous polls, and prompts members suggest without their name.

-- A poll in a circle. While it is open nothing about its count is public or stored here;
-- at close only what the public results show is kept: whether enough people voted for
-- results to be shown (`enough`) and each option's count, or NULL where it was under the
-- threshold. The number of voters is never kept.
CREATE TABLE polls (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: it feeds the poll's key
    circle_id  INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    token      TEXT    NOT NULL UNIQUE,
    question   TEXT    NOT NULL,
    options    TEXT    NOT NULL,  -- JSON array of 2 to 5 strings
    multi      INTEGER NOT NULL CHECK (multi IN (0, 1)),
    -- HMAC(poll key, "check"): a vote under another key (a strict circle after a restart,
    -- a changed master secret) is refused instead of being counted twice.
    key_check  BLOB    NOT NULL,
    message_id INTEGER,
    closes_at  TEXT    NOT NULL,
    closed_at  TEXT,
    enough     INTEGER CHECK (enough IN (0, 1)),
    results    TEXT               -- JSON array: a count, or null for "fewer than 3"
);
CREATE INDEX polls_circle ON polls (circle_id);
CREATE INDEX polls_open_due ON polls (closes_at) WHERE closed_at IS NULL;

-- One row per voter of an open poll, deleted when the poll closes. voter_key is
-- HMAC(poll key, member id) with poll key = HMAC(circle key, poll id): it needs the master
-- secret (in strict circles, the key in memory), and it is no label key. choices is a bit
-- set of the options chosen.
CREATE TABLE poll_votes (
    poll_id   INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    circle_id INTEGER NOT NULL,
    voter_key BLOB    NOT NULL,
    choices   INTEGER NOT NULL CHECK (choices BETWEEN 1 AND 31),
    PRIMARY KEY (poll_id, voter_key)
) WITHOUT ROWID;
CREATE INDEX poll_votes_circle ON poll_votes (circle_id);

-- A prompt a member suggested for a circle, shown privately to its keepers once its random
-- wait (the server's delay for anonymous posts) is over. author_key is
-- HMAC(circle key, "suggestion:" member id): no label key, so a suggestion links to no post.
-- The text goes when a keeper decides; an added one lives on as an unattributed circle
-- prompt (prompt_id "c<N>").
CREATE TABLE prompt_suggestions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    circle_id    INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    token        TEXT    NOT NULL UNIQUE,
    author_key   BLOB    NOT NULL,
    text         TEXT,
    content_note TEXT,
    status       TEXT    NOT NULL CHECK (status IN ('waiting', 'added', 'declined')),
    shown_at     TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    decided_at   TEXT,
    prompt_id    TEXT,
    reason       TEXT,
    CHECK ((status = 'waiting') = (text IS NOT NULL))
);
CREATE INDEX prompt_suggestions_circle ON prompt_suggestions (circle_id, status, shown_at);
CREATE INDEX prompt_suggestions_author ON prompt_suggestions (circle_id, author_key);
