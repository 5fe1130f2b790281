-- PostgreSQL version of migrations/0012_record_properties.sql (same version number); keep the two in step.
-- The properties the app has made sure exist in a portal, per object type,
-- so that saving results on a record does not check them every time (see
-- store/recordprops.go). properties lists, space-separated, the properties ensured;
-- when an action needs one not listed, they are ensured
-- again. A row is only a cache: deleting it costs a few idempotent calls.
CREATE TABLE record_properties (
    portal_id   BIGINT NOT NULL,
    object_type TEXT   NOT NULL,
    properties  TEXT   NOT NULL,
    ensured_at  BIGINT NOT NULL,
    PRIMARY KEY (portal_id, object_type)
);
