-- PostgreSQL version of migrations/0005_app_key_uses.sql (same version number); keep the two in step.
-- The operator's app-wide provider keys (Clearbit, Stripe) serve each
-- allowed portal up to a daily quota. app_key_quota counts, per provider,
-- portal and UTC day (YYYY-MM-DD), the executions that used the app key;
-- app_key_uses records which executions were counted, so a retried or
-- re-asked execution is counted once. Rows older than a few days are
-- deleted as new days begin.
CREATE TABLE app_key_quota (
    provider  TEXT    NOT NULL,
    portal_id BIGINT  NOT NULL,
    day       TEXT    NOT NULL,
    used      BIGINT  NOT NULL,
    PRIMARY KEY (provider, portal_id, day)
);

CREATE TABLE app_key_uses (
    provider    TEXT   NOT NULL,
    callback_id TEXT   NOT NULL,
    portal_id   BIGINT NOT NULL,
    day         TEXT   NOT NULL,
    PRIMARY KEY (provider, callback_id)
);

CREATE INDEX app_key_uses_portal_day ON app_key_uses (provider, portal_id, day);
