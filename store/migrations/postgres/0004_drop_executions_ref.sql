-- PostgreSQL version of migrations/0004_drop_executions_ref.sql (same version number); keep the two in step.
-- executions_ref was never used: the history's search matches callback_id,
-- ref or object_id within one portal, and with object_id unindexed the
-- planner always walks executions_portal_received for that portal (which
-- is also how a reference is found). Every insert paid for it with a write
-- at a random place in the index, so one more page per commit.
DROP INDEX executions_ref;
