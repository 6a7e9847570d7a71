# Admin pages: account
nav-account = Account
acc-title = Account and security
acc-tabs-label = Account sections
acc-tab-account = Password and two-step sign-in
acc-tab-sessions = Sessions
acc-tab-keys = API keys
acc-back = Back to the account
acc-optional = (optional)
acc-never = never
acc-current-password = Current password
acc-fresh-sign-in-hint = You sign in through your media server, so there is no password to enter: changes here need a sign-in from the last 5 minutes. If one is refused, sign out, sign in again and repeat it.
acc-step-up-notice = This change needs your current password.
acc-step-up-wrong = The current password is wrong.
acc-step-up-required = Enter your current password.
acc-step-up-fresh = Sign in again (within the last 5 minutes), then repeat the change.
acc-password-title = Password
acc-password-lead = Change the password you sign in with as { $name }.
acc-new-password = New password
acc-password-revokes = Changing it signs out every other session and revokes all API keys: they were issued under the old password.
acc-password-submit = Change password
acc-password-changed = Your password was changed. Other sessions signed out: { $sessions }. API keys revoked: { $keys }.
acc-totp-title = Two-step sign-in (TOTP)
acc-totp-state-on = on
acc-totp-state-off = off
acc-totp-lead = With two-step sign-in, signing in also asks for a 6-digit code from an authenticator app on your phone. You confirm the change with your current password.
acc-totp-start = Set up two-step sign-in
acc-totp-enrol-title = Set up two-step sign-in
acc-totp-scan = Scan the QR code with an authenticator app (for example Aegis, 2FAS, Google Authenticator or your password manager).
acc-totp-manual = Or type this key into the app:
acc-totp-qr = QR code for your authenticator app
acc-totp-first-code = Code from the app
acc-totp-first-code-hint = The 6 digits the app shows now. Two-step sign-in is on only once this code is right.
acc-totp-confirm = Turn on two-step sign-in
acc-totp-code-wrong = The code is wrong or was already used. Check the device’s clock and try the next code.
acc-totp-on-flash = Two-step sign-in is on. From now on, signing in asks for a code.
acc-totp-off-title = Turn off
acc-totp-off-submit = Turn off two-step sign-in
acc-totp-off-flash = Two-step sign-in is off.
acc-codes-left = { $count ->
    [one] { $count } unused backup code left.
   *[other] { $count } unused backup codes left.
}
acc-codes-title = Your backup codes
acc-codes-lead = Each code signs you in once when you do not have your phone. Keep them somewhere safe: they are shown only now.
acc-codes-download = Download as a text file
acc-codes-done = I have saved them
acc-codes-new-title = New backup codes
acc-codes-new-lead = New codes replace all the old ones.
acc-codes-new-submit = Make new backup codes
acc-codes-download-invalid = These are not backup codes. Make new ones on the account page.
acc-codes-file-heading = Backup codes for { $name }. Each works once.
acc-sessions-title = Sessions
acc-sessions-lead = Where and when you are signed in, as the browser said when signing in. Sign out anything you do not recognise.
acc-session-ip = Address
acc-session-agent = Browser
acc-session-signed-in = Signed in
acc-session-last-seen = Last seen
acc-session-expires = Ends at the latest
acc-session-action = Action
acc-session-this = this session
acc-session-revoke = Sign out
acc-sessions-revoke-others = { $count ->
    [one] Sign out the other session
   *[other] Sign out all { $count } other sessions
}
acc-sessions-revoked = { $count ->
    [one] { $count } session signed out.
   *[other] { $count } sessions signed out.
}
acc-keys-title = API keys
acc-key-new = New API key
acc-key-name = Name
acc-key-name-hint = What uses the key, e.g. “backup script”. 1 to 64 characters.
acc-key-scope = Scope
acc-scope-read = Read only
acc-scope-read-hint = can read everything, change nothing
acc-scope-admin = Admin
acc-scope-admin-hint = can do everything you can
acc-key-expires = Expires
acc-key-expires-hint = Leave empty for a key that does not expire. Time zone: { $tz }.
acc-key-create = Create API key
acc-keys-list = API keys of this Zondarr
acc-keys-total = { $count ->
    [one] { $count } key
   *[other] { $count } keys
}
acc-key-prefix = Key starts with
acc-key-state = State
acc-key-created = Created
acc-key-last-used = Last used
acc-key-active = active
acc-key-expired = expired
acc-key-revoked = revoked
acc-key-revoke = Revoke
acc-key-revoked-flash = The API key was revoked. It no longer works.
acc-key-created-title = API key created
acc-key-created-lead = Copy the key now: this is the only time it is shown.
acc-key-label = The API key
acc-key-copy = Copy key
acc-key-use-hint = Send it as “Authorization: Bearer …” with each request to the API.
acc-key-saved = I have stored it
acc-key-revoke-title = Revoke the API key “{ $name }”
acc-key-revoke-text = Whatever uses the key starting with { $prefix } stops working at once. This cannot be undone.
