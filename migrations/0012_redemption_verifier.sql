-- The join's name check no longer lists the server's users (issue 22, docs/redemption.md). For a
-- credential account the proof of origin is now a one-time password: the saga creates the
-- account with a password derived from the daemon's key (HMAC of the redemption and server ids),
-- known to nobody else, and sets the invitee's password by the new account's id right after.
-- `verifier` = 1 marks a step made that way: an account that signs in with that password is
-- provably this redemption's. `external_id` may then be set while the step is still `calling`
-- (the account exists and is ours, its password is not the invitee's yet).
ALTER TABLE redemption_steps ADD COLUMN verifier INTEGER NOT NULL DEFAULT 0;
