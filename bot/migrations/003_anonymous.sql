-- Anonymous posting. No table here holds a user id: authors are known only by their label
-- key, HMAC-SHA256(circle key, user id), which nobody can compute without the master secret
-- (or, in strict circles, the key that lives only in the bot's memory).

CREATE TABLE anon_labels (
    circle_id INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    label_key BLOB    NOT NULL,
    label     TEXT    NOT NULL,
    PRIMARY KEY (circle_id, label_key),
    UNIQUE (circle_id, label)
);

-- status: draft (identifying details found; waiting for the author to confirm, then expires),
-- review (held for moderators), queued (waiting in the outbox), sending (being delivered),
-- posted, rejected, removed.
-- text and content_note are kept only until the post is posted or decided.
CREATE TABLE anon_posts (
    id                 INTEGER PRIMARY KEY,
    token              TEXT    NOT NULL UNIQUE,
    circle_id          INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    label              TEXT    NOT NULL,
    label_key          BLOB    NOT NULL,
    status             TEXT    NOT NULL CHECK (status IN
                           ('draft', 'review', 'queued', 'sending', 'posted', 'rejected', 'removed')),
    text               TEXT,
    content_note       TEXT,
    reply_to_message_id INTEGER,
    quote_link         TEXT,
    message_id         INTEGER,
    review_message_id  INTEGER,
    created_at         TEXT    NOT NULL,
    deliver_at         TEXT,
    decided_at         TEXT
);
CREATE INDEX anon_posts_author ON anon_posts (circle_id, label_key, created_at);
CREATE INDEX anon_posts_outbox ON anon_posts (status, deliver_at);
CREATE INDEX anon_posts_message ON anon_posts (message_id);

-- Blocks from anonymous posting in one circle, keyed by label key: nobody learns who it is.
CREATE TABLE anon_blocks (
    id         INTEGER PRIMARY KEY,
    circle_id  INTEGER NOT NULL REFERENCES circles (id) ON DELETE CASCADE,
    label_key  BLOB    NOT NULL,
    label      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    created_at TEXT    NOT NULL,
    expires_at TEXT,
    UNIQUE (circle_id, label_key)
);
