-- Contact conversations: a member writes to the moderators under a pseudonym for that
-- conversation alone. No row holds the member's id. The member is known only by
-- member_key = HMAC-SHA256(conversation key, member id), where the conversation key is
-- HMAC-SHA256(master secret, "contact" || salt) and the salt is random per conversation, so
-- two conversations of one member share no value. Memory-keyed conversations have no salt
-- here: their key lives in the bot's memory only and they end at a restart.
-- Closing destroys the salt and the key; a blocked conversation keeps them (and nothing of
-- what was said), so a member opening a new conversation can be checked against it.

CREATE TABLE contact_settings (
    guild_id        INTEGER PRIMARY KEY,
    channel_id      INTEGER,
    retention_days  INTEGER NOT NULL DEFAULT 30 CHECK (retention_days BETWEEN 1 AND 365),
    memory_keyed    INTEGER NOT NULL DEFAULT 0 CHECK (memory_keyed IN (0, 1))
);

-- state: open, closed (salt and key gone; text kept until ends_at), blocked (salt and key
-- kept, text gone). ends_at: when it closes by itself and its text is purged.
CREATE TABLE contact_conversations (
    id           INTEGER PRIMARY KEY,
    token        TEXT    NOT NULL UNIQUE,
    guild_id     INTEGER NOT NULL,
    pseudonym    TEXT    NOT NULL,
    salt         BLOB,
    member_key   BLOB,
    memory_keyed INTEGER NOT NULL DEFAULT 0 CHECK (memory_keyed IN (0, 1)),
    state        TEXT    NOT NULL CHECK (state IN ('open', 'closed', 'blocked')),
    opened_at    TEXT    NOT NULL,
    ends_at      TEXT    NOT NULL,
    UNIQUE (guild_id, pseudonym)
);
CREATE INDEX contact_conversations_guild ON contact_conversations (guild_id, state);
CREATE INDEX contact_conversations_ends ON contact_conversations (ends_at);

-- sender: member (text kept only until it reaches the moderators' channel) or moderators
-- (text kept until the conversation's text is purged). deliver_at: a member's message waits
-- a random time before it reaches the channel, so its timestamp is not when it was written.
CREATE TABLE contact_messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES contact_conversations (id) ON DELETE CASCADE,
    sender          TEXT    NOT NULL CHECK (sender IN ('member', 'moderators')),
    text            TEXT,
    created_at      TEXT    NOT NULL,
    deliver_at      TEXT,
    channel_message INTEGER
);
CREATE INDEX contact_messages_conversation ON contact_messages (conversation_id, id);
CREATE INDEX contact_messages_due ON contact_messages (deliver_at);

-- Members' own Discord replies to an anonymous post (seen with the guild-messages intent,
-- never their content), so the post's author can find them in /anon inbox by recomputing
-- their label key. Public on Discord already; goes with the post.
CREATE TABLE anon_replies (
    post_id    INTEGER NOT NULL REFERENCES anon_posts (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (post_id, message_id)
);
