-- A circle's structure: the talking piece of a prompt round, and pauses that lock the thread.
-- Check-ins and check-outs store nothing: their totals live in memory only.

-- One round at a time per circle. turn_token is random and changes with every turn, so a
-- button from an earlier turn can never act on the current one.
CREATE TABLE rounds (
    circle_id       INTEGER PRIMARY KEY REFERENCES circles (id) ON DELETE CASCADE,
    mode            TEXT    NOT NULL CHECK (mode IN ('named', 'anonymous')),
    prompt_id       TEXT,
    turn_seconds    INTEGER NOT NULL CHECK (turn_seconds BETWEEN 60 AND 1800),
    turn_token      TEXT    NOT NULL UNIQUE,
    turn_message_id INTEGER,
    turn_ends_at    TEXT    NOT NULL,
    started_at      TEXT    NOT NULL
);
CREATE INDEX rounds_due ON rounds (turn_ends_at);

-- Who is still to hold the piece, in shuffled order; a row goes as soon as its turn is done.
-- Named rounds keep the member's id; anonymous rounds keep only the label key (the HMAC also
-- used for anonymous posts), never an id.
CREATE TABLE round_turns (
    circle_id INTEGER NOT NULL REFERENCES rounds (circle_id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    user_id   INTEGER,
    label_key BLOB,
    PRIMARY KEY (circle_id, position),
    CHECK ((user_id IS NULL) <> (label_key IS NULL))
);

-- A thread locked for a pause, and when the bot unlocks it again.
CREATE TABLE pauses (
    circle_id INTEGER PRIMARY KEY REFERENCES circles (id) ON DELETE CASCADE,
    ends_at   TEXT    NOT NULL
);
CREATE INDEX pauses_due ON pauses (ends_at);
