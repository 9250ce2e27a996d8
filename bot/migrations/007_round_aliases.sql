-- Anonymous rounds name the holder by an alias made for that round only, from this random
-- salt and the holder's label key. Naming holders by their circle label would list every
-- member's label, and comparing two rounds across a join or a leave would show whose it is.
ALTER TABLE rounds ADD COLUMN alias_salt BLOB;
