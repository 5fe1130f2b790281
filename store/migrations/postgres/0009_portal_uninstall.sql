-- PostgreSQL version of migrations/0009_portal_uninstall.sql (same version number); keep the two in step.
-- A portal's uninstall: uninstalled_at is when it was asked for (the
-- settings page's button, portals remove) or noticed (HubSpot rejected the
-- refresh token with invalid_grant), 0 while installed. The grace period
-- before a noticed uninstall's secrets are deleted counts from it; a
-- reinstall sets it back to 0.
ALTER TABLE portals ADD COLUMN uninstalled_at BIGINT NOT NULL DEFAULT 0;

-- Until now a rejected HubSpot refresh token left the portal
-- needs_reinstall; that is what an uninstall in HubSpot looks like, so such
-- portals are uninstalled, their grace period counting from their last
-- change.
UPDATE portals SET status = 'uninstalled', uninstalled_at = updated_at WHERE status = 'needs_reinstall';
