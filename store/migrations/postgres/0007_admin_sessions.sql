-- PostgreSQL version of migrations/0007_admin_sessions.sql (same version number); keep the two in step.
-- Admin sessions of the settings pages, kept server-side so that signing
-- out, removing a portal, uninstalling or reinstalling ends them on every
-- replica. The cookie carries a random id; only its SHA-256 (hex) is kept.
-- user_email is sealed like the other secrets (key_id names the key). A
-- session is valid while its row exists, has not expired and carries its
-- portal's current generation.
CREATE TABLE admin_sessions (
    id_hash    TEXT   NOT NULL PRIMARY KEY,
    portal_id  BIGINT NOT NULL,
    user_id    BIGINT NOT NULL DEFAULT 0,
    user_email TEXT   NOT NULL DEFAULT '',
    key_id     TEXT   NOT NULL DEFAULT '',
    generation BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX admin_sessions_portal ON admin_sessions (portal_id);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- Each portal's session generation: ending a portal's sessions raises it,
-- so a session written under an older one is refused even if its row
-- survived. A portal without a row is at generation 0.
CREATE TABLE admin_session_generations (
    portal_id  BIGINT NOT NULL PRIMARY KEY,
    generation BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
