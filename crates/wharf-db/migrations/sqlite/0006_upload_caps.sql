-- Open upload sessions are capped per principal and per repository: both counts are
-- taken when a session starts, over sessions touched within the upload TTL.
CREATE INDEX uploads_by_principal ON uploads (principal, updated_at);
CREATE INDEX uploads_by_repository ON uploads (repository_id, updated_at);
