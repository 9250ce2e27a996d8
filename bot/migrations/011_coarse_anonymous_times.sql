-- Anonymous rows keep their times no finer than they are used: when a post was written or
-- decided, and a block's times, to the minute (the rate limit and draft expiry work at that
-- precision); delivery due times to the second. A time to the microsecond beside a member's
-- joining time would let someone holding the file line the two up. The stored form keeps
-- its fixed width, so string order stays time order.
UPDATE anon_posts SET
    created_at = substr(created_at, 1, 16) || ':00.000000+00:00',
    decided_at = CASE WHEN decided_at IS NULL THEN NULL
                      ELSE substr(decided_at, 1, 16) || ':00.000000+00:00' END,
    deliver_at = CASE WHEN deliver_at IS NULL THEN NULL
                      ELSE substr(deliver_at, 1, 19) || '.000000+00:00' END;

UPDATE anon_blocks SET
    created_at = substr(created_at, 1, 16) || ':00.000000+00:00',
    expires_at = CASE WHEN expires_at IS NULL THEN NULL
                      ELSE substr(expires_at, 1, 16) || ':00.000000+00:00' END;
