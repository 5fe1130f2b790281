-- PostgreSQL version of migrations/0002_block_answered_app_secrets.sql (same version number); keep the two in step.
-- block_answered records that HubSpot was actually answered BLOCK over
-- HTTP (blocked alone also covers executions recovery took over, whose
-- request HubSpot may still retry). The index serves history pruning.
ALTER TABLE executions ADD COLUMN block_answered INTEGER NOT NULL DEFAULT 0;

CREATE INDEX executions_done_received ON executions (received_at) WHERE state = 'done';

-- Secrets the app generates for itself, sealed like tokens (for example the
-- key that makes Stripe promotion-code suffixes unguessable yet stable
-- across retries, which must outlive ENCRYPTION_KEY rotations).
CREATE TABLE app_secrets (
    name       TEXT   NOT NULL PRIMARY KEY,
    secret     TEXT   NOT NULL,
    key_id     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
