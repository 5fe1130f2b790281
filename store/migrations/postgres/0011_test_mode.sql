-- PostgreSQL version of migrations/0011_test_mode.sql (same version number); keep the two in step.
-- Test mode, per portal: while enabled is 1, the portal's new executions
-- run against the providers' fakes. changed_at and changed_by_* say when
-- and by which admin it last changed. No row: test mode is off. An
-- uninstall deletes the row (a reinstall starts live).
CREATE TABLE portal_test_modes (
    portal_id        BIGINT  NOT NULL PRIMARY KEY,
    enabled          INTEGER NOT NULL DEFAULT 0,
    changed_by_id    BIGINT  NOT NULL DEFAULT 0,
    changed_by_email TEXT    NOT NULL DEFAULT '',
    changed_at       BIGINT  NOT NULL
);

-- Each execution's mode, fixed when it is first recorded from its portal's
-- setting at that moment: every run, retry and delivery of it keeps it.
ALTER TABLE executions ADD COLUMN test_mode INTEGER NOT NULL DEFAULT 0;
