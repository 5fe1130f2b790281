-- PostgreSQL version of migrations/0003_execution_state.sql (same version number); keep the two in step.
-- The execution's state becomes one column naming where it stands (see
-- store.ExecState), replacing the pair state (running/done) + blocked and
-- the delivery channel; the partial indexes follow the new values. The
-- last failure's HTTP status and Retry-After become columns, so retry and
-- give-up decisions never read error text.
DROP INDEX executions_running;
DROP INDEX executions_undelivered;
DROP INDEX executions_done_received;

UPDATE executions SET state = CASE
    WHEN state = 'running' AND blocked = 0 THEN 'running'
    WHEN state = 'running' THEN 'blocked'
    WHEN delivery = 'inline' THEN 'answered'
    WHEN delivered_at <> 0 THEN 'delivered'
    WHEN delivery_error <> '' THEN 'undeliverable'
    ELSE 'awaiting_delivery'
END;

ALTER TABLE executions DROP COLUMN blocked;
ALTER TABLE executions DROP COLUMN delivery;
ALTER TABLE executions ADD COLUMN last_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN last_retry_after_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN last_pending INTEGER NOT NULL DEFAULT 0;
UPDATE executions SET last_pending = 1 WHERE last_error LIKE 'pending: %';
UPDATE executions SET last_status = 429 WHERE last_pending = 0 AND last_error LIKE '%http 429%';

-- Only the undelivered index names states: an UPDATE that assigns state
-- re-indexes the row in every partial index whose condition reads state
-- and holds before and after, which made Block three times as costly. Live
-- rows are told apart by finished_at instead, set only by Finish.
CREATE INDEX executions_live ON executions (lease_until) WHERE finished_at = 0;
CREATE INDEX executions_undelivered ON executions (portal_id, finished_at) WHERE state = 'awaiting_delivery';
CREATE INDEX executions_finished_received ON executions (received_at) WHERE finished_at <> 0;
