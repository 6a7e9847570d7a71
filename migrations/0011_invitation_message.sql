-- The admin's welcome on the invitation landing page (SPEC §3.4): plain text shown to invitees,
-- NULL when there is none. Distinct from `note`, which only admins see.
ALTER TABLE invitations ADD COLUMN message TEXT;
