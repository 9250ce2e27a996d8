-- What a server's own support service says about contacting police, shown first on the
-- resource card. Entries added before this was asked show 'not-stated'.
ALTER TABLE guild_resources ADD COLUMN police TEXT NOT NULL DEFAULT 'not-stated'
    CHECK (police IN ('never', 'only-in-stated-cases', 'may', 'not-stated'));
ALTER TABLE guild_resources ADD COLUMN police_cases TEXT;

-- A schedule stops before a heavy prompt unless the keeper said, when scheduling, that heavy
-- prompts may be posted automatically.
ALTER TABLE prompt_schedules ADD COLUMN include_heavy INTEGER NOT NULL DEFAULT 0
    CHECK (include_heavy IN (0, 1));
