-- PostgreSQL version of migrations/0010_rate_limits.sql (same version number); keep the two in step.
-- The keyed rate limiter's shared state, one row per (limiter name, key):
-- the generic cell rate algorithm's theoretical arrival time (tat_us), a
-- pause the upstream asked for, and the last turn computed (turn_us), all
-- in microseconds since the Unix epoch. Idle rows equal a fresh one and are
-- pruned.
--
-- Both tables are UNLOGGED: written on every outbound request, they skip
-- the write-ahead log, so a turn's commit does not wait for a disk flush.
-- A database crash empties them, which loses nothing that matters (fresh
-- rows are full buckets; the requests in flight then are gone or fail),
-- and standbys do not have them, which only the primary's writers use.
CREATE UNLOGGED TABLE rate_limits (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    tat_us BIGINT NOT NULL,
    paused_until_us BIGINT NOT NULL DEFAULT 0,
    turn_us BIGINT NOT NULL,
    PRIMARY KEY (name, key)
);

-- Concurrency caps: one row per slot held (slot < the cap), so the primary
-- key alone keeps a key under its cap across replicas. A lease past
-- expires_us is free: the slots of a replica that died holding them come
-- back by themselves.
CREATE UNLOGGED TABLE rate_limit_leases (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    slot INTEGER NOT NULL,
    holder TEXT NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (name, key, slot)
);
