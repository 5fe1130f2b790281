-- The keyed rate limiter's shared state (see store/ratelimits.go). Only the
-- PostgreSQL store uses these tables (replicas share their budgets through
-- them); on SQLite one process owns the file and keeps its limits in
-- memory, so the tables stay empty. They exist so the migration lists of
-- both databases stay parallel.
CREATE TABLE rate_limits (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    tat_us BIGINT NOT NULL,
    paused_until_us BIGINT NOT NULL DEFAULT 0,
    turn_us BIGINT NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE rate_limit_leases (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    slot INTEGER NOT NULL,
    holder TEXT NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (name, key, slot)
);
