-- PostgreSQL version of migrations/0001_init.sql (same version number); keep the two in step.
-- Times are BIGINT milliseconds since the Unix epoch (UTC); flags are INTEGER 0/1.

CREATE TABLE portals (
    portal_id          BIGINT  NOT NULL PRIMARY KEY,
    hub_domain         TEXT    NOT NULL DEFAULT '',
    installed_by_email TEXT    NOT NULL DEFAULT '',
    installed_by_id    BIGINT  NOT NULL DEFAULT 0,
    scopes             TEXT    NOT NULL DEFAULT '',
    status             TEXT    NOT NULL DEFAULT 'active',
    status_reason      TEXT    NOT NULL DEFAULT '',
    installed_at       BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

-- One OAuth grant per portal and provider (hubspot, quickbooks). Tokens are
-- AES-256-GCM ciphertexts; key_id names the key that sealed them. version
-- grows by one on every refresh so that concurrent refreshers (in one process
-- or several) can agree on a single winner with a conditional update.
CREATE TABLE oauth_tokens (
    portal_id          BIGINT  NOT NULL,
    provider           TEXT    NOT NULL,
    account_id         TEXT    NOT NULL DEFAULT '',
    account_name       TEXT    NOT NULL DEFAULT '',
    access_token       TEXT    NOT NULL,
    refresh_token      TEXT    NOT NULL,
    key_id             TEXT    NOT NULL,
    expires_at         BIGINT  NOT NULL,
    version            BIGINT  NOT NULL,
    refresh_lock_until BIGINT  NOT NULL DEFAULT 0,
    status             TEXT    NOT NULL DEFAULT 'active',
    status_reason      TEXT    NOT NULL DEFAULT '',
    updated_at         BIGINT  NOT NULL,
    PRIMARY KEY (portal_id, provider)
);

-- Per-portal API keys (clearbit, stripe), sealed like tokens. hint is a masked
-- form safe to show (for example "sk_test_…4242").
CREATE TABLE api_keys (
    portal_id   BIGINT NOT NULL,
    provider    TEXT   NOT NULL,
    secret      TEXT   NOT NULL,
    key_id      TEXT   NOT NULL,
    hint        TEXT   NOT NULL,
    verified_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (portal_id, provider)
);

-- OAuth state values waiting for their callback. Only a hash is kept; a
-- state works once (the row is deleted when used) and expires.
CREATE TABLE oauth_states (
    state_hash TEXT   NOT NULL PRIMARY KEY,
    provider   TEXT   NOT NULL,
    portal_id  BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);

-- The execution ledger: one row per HubSpot callbackId, written before any
-- side effect. state is running or done; blocked records that HubSpot was
-- answered BLOCK, which makes the callbacks API the only way the outcome is
-- delivered.
CREATE TABLE executions (
    callback_id          TEXT    NOT NULL PRIMARY KEY,
    ref                  TEXT    NOT NULL,
    portal_id            BIGINT  NOT NULL,
    action               TEXT    NOT NULL,
    workflow_id          BIGINT  NOT NULL DEFAULT 0,
    object_type          TEXT    NOT NULL DEFAULT '',
    object_id            TEXT    NOT NULL DEFAULT '',
    request              TEXT    NOT NULL,
    state                TEXT    NOT NULL,
    blocked              INTEGER NOT NULL DEFAULT 0,
    attempt              INTEGER NOT NULL DEFAULT 1,
    lease_until          BIGINT  NOT NULL DEFAULT 0,
    final_state          TEXT    NOT NULL DEFAULT '',
    outputs              TEXT    NOT NULL DEFAULT '',
    error_code           TEXT    NOT NULL DEFAULT '',
    error_message        TEXT    NOT NULL DEFAULT '',
    last_error           TEXT    NOT NULL DEFAULT '',
    delivery             TEXT    NOT NULL DEFAULT '',
    delivered_at         BIGINT  NOT NULL DEFAULT 0,
    delivery_error       TEXT    NOT NULL DEFAULT '',
    delivery_attempts    INTEGER NOT NULL DEFAULT 0,
    delivery_claim       TEXT    NOT NULL DEFAULT '',
    delivery_claim_until BIGINT  NOT NULL DEFAULT 0,
    expires_at           BIGINT  NOT NULL DEFAULT 0,
    received_at          BIGINT  NOT NULL,
    finished_at          BIGINT  NOT NULL DEFAULT 0,
    updated_at           BIGINT  NOT NULL
);

CREATE INDEX executions_ref ON executions (ref);
CREATE INDEX executions_portal_received ON executions (portal_id, received_at);
CREATE INDEX executions_running ON executions (lease_until) WHERE state = 'running';
CREATE INDEX executions_undelivered ON executions (portal_id, finished_at)
    WHERE state = 'done' AND delivery = 'callback' AND delivered_at = 0 AND delivery_error = '';
