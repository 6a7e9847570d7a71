# English catalogue of the web pages. Every key here must exist in every other catalogue
# (a unit test checks). Dates: chrono format strings.

format-datetime = %B %-d, %Y, %H:%M UTC

skip-to-content = Skip to content
language-switcher = Language
footer-powered = Invitations by Zondarr
optional = (optional)
error-code = Error code
request-id = Request id
try-again = Try again
back = Back


error-not-found-title = Page not found
error-not-found-text = There is nothing at this address. Check the link you were given.
error-internal-title = Something went wrong
error-internal-text = The server could not answer this request. Try again in a moment; if it keeps failing, tell the person who invited you the request id below.
error-request-title = This request could not be handled
error-request-text = The page could not make sense of the request. Go back and try again.
error-home = Home

invalid-title = This invitation cannot be used
invalid-text = The link may be mistyped, may have expired or may have been used up already. Ask the person who invited you for a new one.

rate-limited-title = Too many attempts
rate-limited-text-soon = Too many requests came from your address. Wait a minute, then try again.
rate-limited-text = { $seconds ->
    [one] Too many requests came from your address. Try again in { $seconds } second.
   *[other] Too many requests came from your address. Try again in { $seconds } seconds.
}

failed-title = Nothing was created
failed-text = Your account could not be set up right now, and nothing was left half done. Please try again in a few minutes.

csrf-title = This form has expired
csrf-text = For your safety, forms are only valid for a while and only in the browser that opened them. Open the page again and send it once more.

landing-title = Invitation to { $instance }
landing-heading = { $instance } invites you
landing-lead = You have been invited to watch on these media servers. It takes a minute to set up your account.
landing-message = A message from your host
landing-servers = What you get
landing-libraries = Libraries: { $libraries }
landing-all-libraries = All libraries
landing-access = How long access lasts
landing-access-days = { $days ->
    [one] { $days } day after you join
   *[other] { $days } days after you join
}
landing-access-unlimited = No time limit
landing-expires = Accept the invitation before
landing-wizard = { $steps ->
    [one] First there is { $steps } short step to go through.
   *[other] First there are { $steps } short steps to go through.
}
landing-start = Accept invitation

wizard-step-of = Step { $number } of { $count }
wizard-continue = Continue
wizard-timer = { $seconds ->
    [one] Please take at least { $seconds } second to read this step.
   *[other] Please take at least { $seconds } seconds to read this step.
}
wizard-wait = { $seconds ->
    [one] Wait { $seconds } more second.
   *[other] Wait { $seconds } more seconds.
}
wizard-wait-js = Continue in %s s
wizard-restarted = The steps had changed or your progress was too old, so they start again from the first one.
wizard-quiz-wrong = That is not the right answer. Try another one.
wizard-quiz-choose = Choose an answer.
wizard-terms-required = Tick the box to continue.
wizard-text-length = Enter between { $min } and { $max } characters.
wizard-answer-invalid = Check this answer.
form-has-errors = Please check the fields marked below.

account-title = Create your account
account-lead = Your account will be created on:
account-link-explain = Sign in with your { $kind } account; { $kind } will ask you to allow access.
account-link-button = Sign in with { $kind }
account-linked = Signed in with { $kind } as { $name }.
account-linked-unnamed = your account
link-popup-wait = A window opened for signing in. Finish there; this page continues on its own.
link-popup-failed = Signing in did not work. Try again.
account-submit = Create my account

field-username = Username
field-username-hint = 1 to 64 characters, without < > " / \ or spaces at the start or end. You sign in with it.
field-password = Password
field-password-hint = At least 8 characters.
field-password2 = Repeat the password
field-email = E-mail address
field-required = This field is required.
field-username-invalid = This username is not allowed: use 1 to 64 characters, without < > " / \ or spaces at the start or end.
field-username-taken = This username is already taken. Choose another one.
field-password-length = The password needs at least 8 characters.
field-password-mismatch = The two passwords do not match.
field-email-invalid = This does not look like an e-mail address.
field-remote-invalid = A media server did not accept this username or password, so nothing was created. Try a username of only letters, digits, spaces and . _ - @ + ', or a longer password.
field-link-required = Sign in first with the button above.

link-pending-title = Waiting for your approval
link-pending-text = The sign-in has not been approved yet. Finish it in the other window or tab, then check again.
link-check-again = Check again
link-start-over = Start over
link-expired-title = The sign-in expired
link-expired-text = The sign-in took too long and expired. Start it again.

done-title = You are in
done-lead = Your accounts are ready.
done-username = Username:
done-how-credentials = Open a { $kind } app, connect to { $server } (ask the person who invited you for its address) and sign in with this username and your password.
done-how-linked = Open any { $kind } app and sign in with your { $kind } account; the shared libraries appear there.
done-how-address = Open a { $kind } app, connect to the server address below and sign in with this username and your password.
done-address = Server address:
done-web = Sign in on the web
done-apps = Get the { $kind } apps
done-expires = Your access lasts until { $date }.
pending-title = Creating your accounts
pending-text = Your accounts are being created. This page checks again on its own every few seconds; you can also close it and open it again later.
pending-check = Check now

# Admin pages
format-datetime-local = %B %-d, %Y, %H:%M
nav-label = Admin
nav-dashboard = Dashboard
nav-invitations = Invitations
nav-servers = Servers
nav-sign-out = Sign out ({ $name })
admin-csrf-text = This form was opened in a session that has ended or was sent from somewhere else. Open the page again and repeat the change.
code-invalid-credentials = Wrong username or password.
code-conflict = That is already taken.
code-setup-host-refused = Setup works only at this server’s own address (its IP address, localhost or its local name). Open it there.
code-remote = The media server did not accept this. Its answer is shown next to the field.
code-not-found = It no longer exists.
cancel = Cancel
save = Save
edit = Edit
delete = Delete
none = None
never = Never
yes = yes
no = no
failed = failed
none-yet = Nothing yet.
copy = Copy link
copied = Copied
saved-flash = Saved.
field-number = Enter a whole number.
field-datetime = Enter a date and time.
pages-label = Pages
setup-title = Set up Zondarr
setup-lead = Create the admin account and say where people will reach Zondarr. Afterwards you can add your first media server.
setup-done-text = Setup is done. Sign in instead.
setup-submit = Create admin account
field-admin-username = Admin username
field-admin-username-hint = 3 to 32 characters: letters, digits, _ . and -, starting with a letter or digit.
field-admin-password-hint = At least 12 characters, not the username and not a common password.
field-password2-mismatch = The two passwords differ.
strength-labels = Very weak|Weak|Fair|Good|Strong
strength-too-short = Too short: at least 12 characters.
field-public-url = Public address
field-public-url-hint = Where invitees open their links, e.g. https://media.example.org. Filled in from the address you are using now.
field-public-url-locked = Set by the configuration; it cannot be changed here.
signin-title = Sign in
signin-submit = Sign in
signin-expired = Your session has ended. Sign in again to continue where you were.
signin-signed-out = You are signed out.
signin-code-lead = Enter the 6-digit code from your authenticator app, or one of your backup codes.
field-code = Code
field-code-hint = 6 digits, or a backup code like abcd-efgh.
signin-code-wrong = The code is wrong or was already used. If the sign-in is older than five minutes, start again.
signin-verify = Verify
signin-external = Or sign in with your media server
signin-server-label = { $name } ({ $kind })
signin-server-username = Username on { $name }
signin-server-password = Password on { $name }
signin-server-submit = Sign in with { $name }
signin-link-pending-title = Not approved yet
signin-link-pending-text = The sign-in has not been approved on the provider's page yet. Approve it there, then check again.
signin-locked = { $seconds ->
    [one] Too many failed sign-ins. Try again in { $seconds } second.
   *[other] Too many failed sign-ins. Try again in { $seconds } seconds.
}
signin-rate-limited = { $seconds ->
    [one] Too many attempts. Try again in { $seconds } second.
   *[other] Too many attempts. Try again in { $seconds } seconds.
}
signout-title = Sign out
dash-title = Dashboard
dash-untrusted-proxy-title = Reverse proxy not trusted
dash-untrusted-proxy = Requests arrive through a reverse proxy that Zondarr does not trust (last seen { $when }). Every visitor then shares the proxy’s address, and with it the limits on sign-ins and invitations. Add the proxy’s address to the setting http.trusted_proxies and restart.
dash-users = Users
dash-no-servers = No media server is connected yet. Add one to start inviting people.
dash-inv-active = active
dash-inv-pending = not used yet
dash-inv-used-up = used up
dash-inv-expired = expired
dash-inv-disabled = disabled
dash-users-active = active
dash-users-disabled = disabled
dash-users-expiring = expiring within 7 days
dash-users-expired = expired
dash-users-vanished = gone from their server
dash-plugin-problems = Connector plugins with problems
dash-activity = Recent activity
dash-jobs = Recent job runs
plugin-failed = failed to load
plugin-unhealthy = unhealthy (crashed too often)
health-healthy = healthy
health-failing = failing
health-connector-missing = connector missing
health-disabled = disabled
inv-list-title = Invitations
inv-new-title = New invitation
inv-edit-title = Edit invitation { $code }
inv-title = Invitation { $code }
inv-not-found = There is no such invitation.
inv-status = Status
inv-status-active = active
inv-status-unused = not used yet
inv-status-used-up = used up
inv-status-expired = expired
inv-status-disabled = disabled
inv-sort-created-at = Created
inv-sort-expires-at = Expiry
inv-sort-code = Code
inv-sort-use-count = Uses
inv-filter-status = Status
inv-filter-any = Any
inv-filter-search = Code contains
inv-filter-sort = Sort by
inv-filter-order = Order
inv-order-default = Default
inv-order-asc = Ascending
inv-order-desc = Descending
inv-filter-apply = Show
inv-total = { $count ->
    [one] { $count } invitation
   *[other] { $count } invitations
}
inv-code = Code
inv-code-generated = Generate a code
inv-code-custom = Choose my own code
inv-code-custom-label = Own code
inv-code-hint = 1 to 32 letters, digits, _ and -. Codes are not case-sensitive.
inv-servers = Servers
inv-libraries = Libraries
inv-libraries-of = Libraries on { $server }
inv-libraries-all = All libraries
inv-libraries-chosen = Only these:
inv-permissions = Permissions
inv-permissions-of = Permissions on { $server }
inv-library-missing = A library of this invitation is no longer on the server; edit the invitation before it can be used.
inv-uses = Uses
inv-uses-of = { $used } of { $max }
inv-uses-unlimited = { $used }, no limit
inv-max-uses = Maximum uses
inv-max-uses-hint = Empty: unlimited.
inv-expires = Expires
inv-expires-hint = In your time zone (UTC{ $tz }). Empty: never.
inv-access = Access
inv-access-days-label = Access lasts (days)
inv-access-days-hint = How long the created accounts last. Empty: no limit.
inv-access-unlimited = No limit
inv-access-days = { $days ->
    [one] { $days } day
   *[other] { $days } days
}
inv-pre-wizard = Wizard before joining
inv-post-wizard = Wizard after joining
inv-note = Note (only for admins)
inv-message = Message to invitees
inv-message-hint = Shown on the invitation page as plain text, line breaks kept. At most 1,000 characters.
inv-enabled = Can be used
inv-create = Create invitation
inv-created = Created
inv-created-flash = The invitation is ready. Send the link or show the QR code.
inv-link = Invitation link
inv-link-hint = Anyone with this link can join until the invitation is used up or expires.
inv-qr = QR code of the link
inv-redemptions = Redemptions
inv-no-redemptions = Nobody has used this invitation yet.
inv-redeemed-at = When
inv-delete-title = Delete invitation { $code }?
inv-delete-text = The link stops working at once. Accounts already created with it stay on their servers.
user-active = active
user-disabled = disabled
user-vanished = gone from the server
srv-name-taken = Another server already has this name (names ignore upper and lower case).
srv-list-title = Servers
srv-add = Add a server
srv-none = No servers yet.
srv-server = Server
srv-new-title = Add a media server
srv-first-lead = Connect your first media server, or skip this for now.
srv-first-skip = Skip
srv-choose-connector = Choose the kind of server
srv-no-connectors = No connector plugin is loaded. Put connector plugins into the plugin folder and restart Zondarr.
srv-other-connector = Choose another kind
srv-name = Name
srv-url = Address
srv-url-hint = The server's address as Zondarr reaches it, with port and any path prefix, e.g. http://192.168.1.10:8096.
srv-accept-invalid-certs = Accept a certificate that does not verify (self-signed)
srv-ca = CA certificate
srv-ca-hint = If your server's certificate was signed by your own certificate authority (a home CA), paste that CA's certificate in PEM form (-----BEGIN CERTIFICATE----- …), one or more. Zondarr then trusts it for this server's address only, besides the public authorities; it is not a secret. Adding or replacing it needs the secret fields again.
srv-ca-summary = { $subject }, valid until { $date }
srv-test = Test connection
srv-test-ok = Connected:
srv-save = Save server
srv-libraries-count = { $count ->
    [one] { $count } library
   *[other] { $count } libraries
}
srv-created-flash = The server is connected and its libraries were imported.
srv-deleted-flash = The server was deleted.
srv-not-found = There is no such server.
srv-kind = Kind
srv-remote = It says it is
srv-last-sync = Last sync
srv-last-checked = Last checked
srv-last-error = Last error
srv-library-missing = no longer on the server
srv-connector-missing = The connector plugin “{ $kind }” is not loaded: put it back into the plugin folder, or delete this server.
srv-connector-unhealthy = The connector plugin “{ $kind }” crashed too often and is paused; Zondarr reloads it, or restart Zondarr.
srv-connector-failed = The connector plugin “{ $kind }” failed to load; see the plugin list in the API and the log.
srv-delete-title = Delete server { $name }?
srv-delete-text = Its users and libraries are removed from Zondarr, not from the media server: their accounts there keep working. Invitations lose this server as a target.
srv-edit-title = Edit server { $name }
srv-url-change-hint = A new address needs the secret fields again.
srv-secret-keep = Leave empty to keep the saved value.
srv-secret-again = The address changed: enter this again.
srv-secret-again-trust = The trusted certificates changed: enter this again.
srv-enable = Switch on
srv-disable = Switch off
srv-disable-hint = A switched-off server is not contacted; its users keep their accounts. Switching it on tests the connection first.
srv-enable-failed = The server could not be switched on
srv-sync-preview = Sync now…
srv-sync-preview-title = Sync { $name }: preview
srv-sync-preview-lead = Nothing has changed yet. This is what a sync would do now.
srv-sync-apply = Sync now
srv-sync-done-title = Sync { $name }: done
srv-sync-done-lead = The sync ran; this is what changed.
srv-sync-failed = The sync did not run
srv-sync-refused-title = Sync { $name }: stopped by the safety check
srv-sync-refused-lead = Nothing was changed: the server lists far fewer accounts or libraries than Zondarr knows.
srv-sync-refused-what = This often means a wrong address, an expired token or a server that is still starting. If the accounts below really are gone, sync anyway: they are marked vanished (never deleted) and come back if the server lists them again.
srv-sync-force = Sync anyway
srv-sync-working = Asking the server… a large server can take a minute.
srv-back-to = Back to { $name }
sync-added = added
sync-imported = imported
sync-updated = updated
sync-returned = back again
sync-missing = no longer listed (marked)
sync-removed = removed
sync-vanished = vanished
sync-gone = gone
sync-excluded = excluded
sync-unchanged = unchanged
sync-known = known to Zondarr
sync-remote = listed by the server
srv-exclusions = Not imported by user sync
srv-exclusions-hint = User sync imports accounts created on the server outside Zondarr, except these.
srv-exclusions-none = No exclusions.
srv-exclusion-remove = Import { $name } again
srv-exclusion-external-id = The server's id for the account
srv-exclusion-external-id-hint = As the media server names it (Jellyfin: the user's id).
srv-exclusion-add = Exclude from user sync
srv-exclusion-failed = The exclusion was not changed
srv-exclusion-field = The server's id for the account:

# Field rules of the admin forms (the domain's English rules, translated; see web/field_messages.rs)
fm-required = This field is required.
fm-future = Must be in the future.
fm-max-uses = Enter a number from 1 to 1,000,000, or leave it empty for unlimited.
fm-access-days = Enter a number of days from 1 to 36,500, or leave it empty for no limit.
fm-max-500 = At most 500 characters.
fm-max-1000 = At most 1,000 characters.
fm-code-length = 1 to 32 characters.
fm-code-chars = Only letters, digits, _ and - are allowed.
fm-code-taken = Another invitation already has this code (codes ignore upper and lower case).
fm-servers = Choose at least one server.
fm-no-server = This server no longer exists.
fm-no-wizard = This wizard no longer exists.
fm-twice = Listed twice.
fm-libraries-empty = Choose at least one library, or all of them.
fm-wrong-type = This value has the wrong type.
fm-connector-missing = The server's connector is not loaded, so its permissions cannot be checked.
fm-hidden-chars = Contains invisible or control characters.
fm-length-64 = 1 to 64 characters.
fm-admin-username-length = 3 to 32 characters.
fm-admin-username-start = Must start with a letter or digit.
fm-admin-username-chars = Only letters, digits, _ . and - are allowed.
fm-password-short = At least 12 characters.
fm-password-long = At most 256 characters.
fm-password-common = This password is too common. Choose another.
fm-password-guessable = This password is too easy to guess. Choose another.
fm-origin = Enter an origin like https://host or https://host:port.
fm-unknown-host = This connector does not declare this host.
fm-no-connector = No connector plugin is loaded.
fm-kind-fixed = The kind cannot be changed; add a new server instead.
fm-ca-not-pem = This is not valid PEM: a certificate block is cut short or damaged.
fm-ca-none = There is no certificate here: paste the CA certificate in PEM form (-----BEGIN CERTIFICATE----- …).
fm-ca-not-x509 = A block here is not a valid X.509 CA certificate.
fm-ca-private-key = This holds a private key: give only the CA's certificate (its key must stay secret).
fm-ca-other-block = This holds a PEM block that is not a certificate.
fm-ca-too-large = At most 64 KiB.
fm-ca-too-many = At most 32 certificates.
fm-ca-with-invalid-certs = A CA certificate cannot be combined with accepting certificates that do not verify: with a CA certificate the server's certificate is checked. Untick that option.
fm-not-a-permission = is not a permission of { $name } servers
fm-not-a-setting = is not a setting of { $name } servers
fm-no-admin-login = { $name } servers cannot check admin sign-ins.
fm-library-missing = The library { $library } is no longer on the server { $server }; choose another.
fm-library-foreign = The library { $library } does not belong to the server { $server }.

draft-restored = Your session had ended, so nothing was saved. What you typed is back below (passwords and secret settings excepted): check it and save again.
draft-action-not-done = Your session had ended, so nothing was done. Check the page and do it again.
