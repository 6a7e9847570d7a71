# Admin pages: ops
nav-plugins = Plugins
nav-settings = Settings
nav-jobs = Jobs
nav-logs = Logs
nav-audit = Audit

plg-title = Connector plugins
plg-lead = Every connector the daemon knows: the bundled ones and the files in the plugins folder, including files it refused and why.
plg-rescan = Rescan the plugins folder
plg-rescan-hint = New and changed files load by themselves; rescan where the folder is not watched reliably (network shares).
plg-rescanned = Rescan done:
plg-rescan-loaded = { $count ->
    [one] 1 file loaded
   *[other] { $count } files loaded
}
plg-rescan-failed = { $count ->
    [one] 1 refused
   *[other] { $count } refused
}
plg-rescan-removed = { $count ->
    [one] 1 removed
   *[other] { $count } removed
}
plg-rescan-waiting = { $count ->
    [one] 1 waiting for approval
   *[other] { $count } waiting for approval
}
plg-approved = The new version of { $id } is approved and serves now.
plg-source-bundled = bundled with Zondarr
plg-source-bundled-name = bundled with Zondarr ({ $name })
plg-source-folder = plugins folder, file { $file }
plg-state-loaded = loaded
plg-unknown = Unknown file
plg-load-error = Load failed:
plg-older-serves = The version loaded before keeps serving.
plg-pending = Waiting for your approval:
plg-approve = Approve this version
plg-refuse = Refuse
plg-refuse-hint = Refusing keeps the version that serves now (or lets this one serve without the extra hosts it asks for). The same file is not asked about again; a changed file is. To remove the file, delete it from the plugins folder.
plg-refused = The waiting version of { $id } is refused. It is not asked about again until its file changes.
plg-refused-title = Refused by an admin:
plg-id = Id
plg-source = Source
plg-contract = Contract version
plg-loaded-at = Loaded
plg-calls = Calls since start
plg-calls-value = { $count ->
    [one] 1 call
   *[other] { $count } calls
}
plg-errors-value = { $count ->
    [one] 1 error
   *[other] { $count } errors
}
plg-crashes-value = { $count ->
    [one] 1 crash in a row
   *[other] { $count } crashes in a row
}
plg-capabilities = Capabilities
plg-permissions = Permissions it manages
plg-perm-label = Permission
plg-perm-key = Key
plg-perm-kind = Type
plg-perm-default = Default
plg-hosts = Hosts besides the server
plg-hosts-none = None: it talks only to the server it is set up for.
plg-host-credentials = gets the server's credentials
plg-host-no-credentials = no credentials

set-title = Settings
set-lead = These settings apply at once, without a restart. A setting fixed in the environment, on the command line or in the configuration file is shown read-only; change it there.
set-group-public = Public address
set-group-sessions = Sessions
set-group-sync = Sync and expiry
set-group-limits = Rate limits
set-group-logging = Logging
set-group-branding = Branding and language
set-allowed-number = A whole number from { $min } to { $max }.
set-allowed-bool = On or off.
set-allowed-choice = One of: { $list }.
set-allowed-url = An address starting with http:// or https://, without query or fragment.
set-allowed-color = A colour like #3366cc; empty for the built-in blue.
set-allowed-log = A level (error, warn, info, debug, trace) or a filter like zondarr=debug,info.
set-allowed-text = Any text.
set-source = Value from
set-source-default = built-in default
set-source-derived = computed from other settings
set-source-file = configuration file
set-source-env = environment
set-source-flag = command line
set-source-app = changed here
set-default = Default
set-default-computed = computed
set-locked-env = Locked: the environment variable { $name } sets it.
set-locked-flag = Locked: the command-line flag { $name } sets it.
set-locked-file = Locked: the configuration file sets it.
set-error-locked = This setting is locked by the configuration; change it there.
set-error-invalid = Not accepted. { $allowed }
set-on = on
set-off = off
set-reset = Back to the default
set-save = Save settings
set-nothing-changed = Nothing was changed.
set-public-url = Public address
set-public-url-help = The address people use to reach Zondarr: invitation links and the trusted origin for sign-in.
set-ui-instance-name = Name of this instance
set-ui-instance-name-help = Shown at the top of every page and in page titles.
set-ui-accent-color = Accent colour
set-ui-accent-color-help = Colour of buttons and links.
set-ui-default-language = Default language
set-ui-default-language-help = Language of the pages when the browser asks for none that Zondarr has.
set-jobs-sync-interval-secs = Sync every (seconds)
set-jobs-sync-interval-secs-help = How often libraries and users of every server are synced; 0 switches the scheduled sync off.
set-jobs-expiry-interval-secs = Check expiry every (seconds)
set-jobs-expiry-interval-secs-help = How often expired invitations and accounts are handled; 0 switches it off.
set-jobs-keep-days = Keep job runs (days)
set-jobs-keep-days-help = Records of job runs older than this are deleted.
set-sync-max-vanished-percent = Most accounts a sync may mark as gone (%)
set-sync-max-vanished-percent-help = User sync refuses to mark more than this share of a server's accounts as gone (100: never refuse).
set-expiry-action = When access ends
set-expiry-action-help = Disable the account, or delete it on the server and in Zondarr.
set-expiry-grace-hours = Grace period (hours)
set-expiry-grace-hours-help = Hours after access ends before the action is taken.
set-expiry-fallback = Where accounts cannot be disabled
set-expiry-fallback-help = For servers that cannot disable accounts (Plex): remove library access, delete the account, or only report it.
set-security-session-idle-minutes = Sign out after inactivity (minutes)
set-security-session-idle-minutes-help = An admin session ends after this many minutes without a request.
set-security-session-absolute-hours = Longest session (hours)
set-security-session-absolute-hours-help = An admin session ends this many hours after signing in, however active.
set-security-secure-cookies = Secure cookies
set-security-secure-cookies-help = Send cookies only over HTTPS: auto does so when the public address is https.
set-security-login-per-ip-per-minute = Sign-in attempts per address and minute
set-security-login-per-ip-per-minute-help = Further attempts from the same address wait.
set-security-login-per-account-per-minute = Sign-in attempts per account and minute
set-security-login-per-account-per-minute-help = Further attempts for the same account wait.
set-security-join-per-ip-per-minute = Join pages per address and minute
set-security-join-per-ip-per-minute-help = Invitation checks and join pages one address may open.
set-security-join-poll-per-ip-per-minute = Sign-in checks per address and minute
set-security-join-poll-per-ip-per-minute-help = How often one address may ask whether a linked sign-in (Plex) was approved.
set-security-join-wizard-per-ip-per-minute = Wizard steps per address and minute
set-security-join-wizard-per-ip-per-minute-help = Wizard answers one address may send.
set-security-join-redeem-per-ip-per-minute = Account creations per address and minute
set-security-join-redeem-per-ip-per-minute-help = Redemptions one address may start.
set-security-join-redeem-wait-secs = Wait for new accounts (seconds)
set-security-join-redeem-wait-secs-help = How long the join page waits for the accounts before it shows progress; the redemption goes on either way.
set-security-lockout-after = Lock after failed sign-ins
set-security-lockout-after-help = Failed sign-ins in a row after which the account is locked for a while.
set-security-lockout-base-secs = First lockout (seconds)
set-security-lockout-base-secs-help = How long the first lockout lasts; each further one lasts longer.
set-security-lockout-max-secs = Longest lockout (seconds)
set-security-lockout-max-secs-help = Lockouts never last longer than this.
set-log-level = Log level
set-log-level-help = Which events the daemon logs (and the log page shows).

job-title = Jobs
job-run-now = Run now
job-run-button = Run { $job }
job-run-library-sync = Sync libraries of { $name }
job-run-user-sync = Sync users of { $name }
job-run-failed = The job did not run
job-ran = { $job }: { $outcome }.
job-no-server = Choose a server from the list.
job-filter-job = Job
job-filter-server = Server
job-filter-outcome = Outcome
job-filter-trigger = Started by
job-total = { $count ->
    [one] 1 run
   *[other] { $count } runs
}
job-started = Started
job-job = Job
job-outcome = Outcome
job-duration = Duration
job-did = What it did
job-running = running
job-duration-ms = { $n } ms
job-duration-s = { $n } s
job-invitation-expiry = Invitation expiry
job-user-expiry = User expiry
job-library-sync = Library sync
job-user-sync = User sync
job-redemption-recovery = Redemption recovery
job-cleanup = Clean-up
job-prune-job-runs = Prune job runs
job-trigger-automatic = schedule
job-trigger-manual = an admin
job-outcome-running = running
job-outcome-succeeded = succeeded
job-outcome-failed = failed
job-outcome-refused = refused
job-outcome-interrupted = interrupted

log-title = Logs
log-lead = The daemon's most recent log events, newest first (log filter: { $filter }). Secret-looking values are hidden.
log-filter-level = Level at least
log-level-any = Any
log-level-error = error
log-level-warn = warning
log-level-info = info
log-level-debug = debug
log-level-trace = trace
log-bad-level = Choose a level from the list.
log-filter-target = Source
log-filter-target-hint = The start of the module path, e.g. zondarr::jobs or zondarr::plugin.
log-refresh = Refresh
log-pause = Pause
log-resume = Resume
log-static = Showing the events at the time the page was loaded.
log-live = Live: new events appear at the top.
log-paused = Paused: new events are held until you resume.
log-reconnecting = Connection lost; reconnecting…
log-lagged = { $n } events were skipped.
log-none = No events match.

aud-title = Audit log
aud-filter-action = Action
aud-filter-action-hint = Exact, like auth.login, or everything starting with a prefix ending in a dot, like server.
aud-filter-actor = Actor
aud-filter-outcome = Outcome
aud-filter-since = From ({ $tz })
aud-filter-until = Until ({ $tz })
aud-bad-time = Enter a date and time.
aud-clear = Clear filters
aud-total = { $count ->
    [one] 1 event
   *[other] { $count } events
}
aud-when = When
aud-action = Action
aud-about = About
aud-actor = Actor
aud-outcome = Outcome
aud-detail = Detail
aud-outcome-success = success
aud-outcome-failure = failure
job-nothing = nothing to do
