-- PostgreSQL version of migrations/0008_webhooks_erasure.sql (same version number); keep the two in step.
-- Webhooks and privacy erasure.
--
-- erased_at marks an execution whose personal data was erased (a contact's
-- privacy deletion, or the deletion of its record in HubSpot): the row stays
-- as a tombstone so counts and the once-per-callbackId guarantee hold, and
-- every later write to it (an attempt still in flight finishing) stores no
-- request, outputs or error text. A contact's executions are found by their
-- enrolled object (object_type and object_id, recorded from the execution
-- request since migration 0001, so no backfill is needed).
ALTER TABLE executions ADD COLUMN erased_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX executions_object ON executions (portal_id, object_id);

-- The webhook events HubSpot delivered that the app acts on, recorded before
-- the batch is acknowledged. event_key identifies one event across HubSpot's
-- retries (a hash of portal, subscription, type, object, occurredAt and
-- eventId: eventId alone is not unique), so a repeated delivery is recorded
-- and processed once. object_id is cleared once the event is processed, and
-- processed events are pruned after a few days (HubSpot retries for 24 h).
CREATE TABLE webhook_events (
    event_key         TEXT   NOT NULL PRIMARY KEY,
    portal_id         BIGINT NOT NULL,
    subscription_type TEXT   NOT NULL,
    object_type       TEXT   NOT NULL,
    object_id         TEXT   NOT NULL,
    occurred_at       BIGINT NOT NULL,
    received_at       BIGINT NOT NULL,
    done_at           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_events_done ON webhook_events (done_at) WHERE done_at <> 0;

-- One row per erasure carried out: when, for which portal, why, and how many
-- executions it erased. It holds no personal data (not even the object id or
-- the event's key, from which the id could be guessed), and is shown to the
-- portal's admins in the history.
CREATE TABLE erasures (
    id           TEXT   NOT NULL PRIMARY KEY,
    portal_id    BIGINT NOT NULL,
    reason       TEXT   NOT NULL,
    object_type  TEXT   NOT NULL,
    requested_at BIGINT NOT NULL,
    erased_at    BIGINT NOT NULL,
    executions   BIGINT NOT NULL
);
CREATE INDEX erasures_portal ON erasures (portal_id, erased_at);
