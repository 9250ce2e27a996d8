-- The language a server's own channels and a circle's messages are written in. A server with
-- none set follows its preferred locale; a circle keeps the language it was created with.
ALTER TABLE guild_config ADD COLUMN language TEXT;
ALTER TABLE circles ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
