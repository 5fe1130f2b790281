-- PostgreSQL version of migrations/0006_oauth_states_expiry.sql (same version number); keep the two in step.
-- Expired OAuth states are deleted by the periodic prune job, in batches
-- found through this index (a full scan of a table a flood of installs
-- filled held the single writer for tens of milliseconds per request).
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
