-- Anonymous rounds no longer keep label keys. A holder is recognised by
-- HMAC-SHA256(round key, member id), where the round key is HMAC-SHA256(circle key, salt) and
-- the salt is random for each round: without the master secret (or, in strict circles, the
-- key in the bot's memory) nothing in the file ties a round's entry to a label key or a
-- member, and the salt goes with the round. Rounds in progress still hold raw label keys,
-- which cannot be converted here, so anonymous rounds running at the upgrade are ended.
DELETE FROM round_turns WHERE circle_id IN (SELECT circle_id FROM rounds WHERE mode = 'anonymous');
DELETE FROM rounds WHERE mode = 'anonymous';
ALTER TABLE round_turns RENAME COLUMN label_key TO holder_key;
ALTER TABLE rounds RENAME COLUMN alias_salt TO round_salt;
