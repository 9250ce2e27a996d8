-- A server's own word list for what the bot posts in members' words, for servers without
-- AutoMod (or beside it). Ships empty: the list is the server's own choice.
CREATE TABLE filter_words (
    guild_id INTEGER NOT NULL,
    word     TEXT NOT NULL,
    action   TEXT NOT NULL CHECK (action IN ('block', 'review')),
    PRIMARY KEY (guild_id, word)
);

-- The name of the server rule that held a post for review (an AutoMod rule that only
-- alerts, or the word list); dropped with the post's text.
ALTER TABLE anon_posts ADD COLUMN held_by TEXT;
