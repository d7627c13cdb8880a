-- Fair scheduling: jobs carry the key of whom they serve (a publisher), and when they
-- were last claimed. A worker takes the ready job whose key has the fewest jobs running
-- and was served least recently, so one publisher's flood does not hold back another.
ALTER TABLE jobs ADD COLUMN fair_key TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN claimed_at BIGINT;
CREATE INDEX jobs_by_fair_key ON jobs (fair_key, state, claimed_at);
