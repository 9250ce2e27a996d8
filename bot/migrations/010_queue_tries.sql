-- A held post's failed sends to the moderators' queue channel. While a held post waits out
-- its random delay it is hidden from /mod queue (listing it earlier would give away when it
-- was written); once a send has failed its wait is over, so it is listed while it is retried,
-- and the next try looks for it in the channel before sending again.
ALTER TABLE anon_posts ADD COLUMN queue_tries INTEGER NOT NULL DEFAULT 0;
