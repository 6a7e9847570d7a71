# Admin pages: users
users-of-invitation = Every account from this invitation
users-of-server = Accounts on this server
nav-users = Users
users-title = Users
users-not-found = There is no such user.
users-total = { $count ->
    [one] { $count } user
   *[other] { $count } users
}
users-filter-search = Name or e-mail
users-filter-server = Server
users-filter-status = State
users-filter-expiry = Expiry
users-filter-sort = Sort by
users-filter-order = Order
users-filter-any = Any
users-filter-reset = Reset
users-filter-invalid = Choose one of the offered values.
users-filter-invitation = Only accounts from invitation { $code }.
users-filter-drop = Show all invitations
users-status-active = active
users-status-enabled = enabled
users-status-disabled = disabled
users-status-vanished = gone from their server
users-expiry-expiring = expiring within 7 days
users-expiry-expired = expired
users-expiry-never = never expires
users-sort-username = Username
users-sort-created-at = Created
users-sort-expires-at = Expiry
users-sort-server = Server
users-state-expired = expired
users-select = Select
users-select-one = Select { $name }
users-select-all = Select all on this page
users-select-none = Clear the selection
users-username = Username
users-email = E-mail
users-server = Server
users-state = State
users-expires = Access ends
users-expires-hint = In your time zone (UTC{ $tz }).
users-created = Created
users-external-id = Id on the server
users-source = Came from
users-source-invitation = an invitation
users-source-sync = user sync (made on the server)
users-source-manual = added by hand
users-kind = Kind of account
users-vanished-at = Gone from the server since
users-expiry-action = Expiry enforcement
users-invitation = Invitation
users-server-page = Server { $server }
users-enable = Enable
users-disable = Disable
users-cannot-disable = This server cannot enable or disable accounts.
users-person = Person and linked accounts
users-person-none = This account is not linked to a person yet. Linking another account makes one.
users-unlink = Unlink { $name }
users-link-label = Link another account
users-link-hint = Its username, or #id for one of several with the same name.
users-link = Link
users-link-empty = Enter a username or #id.
users-link-none = No other account is named { $name }.
users-link-many = Several accounts have this name: { $choices }. Enter one as #id.
users-expiry = Expiry
users-expiry-clear = Never expire
users-access = Access on { $server }
users-access-from-invitation = The server's current settings are not read back: the form shows what the invitation granted. Saving replaces the access on the server.
users-access-from-defaults = The server's current settings are not read back: the form shows the connector's defaults. Saving replaces the access on the server.
users-save-libraries = Save libraries
users-permissions = Permissions
users-save-permissions = Save permissions
users-password = Password
users-password-new = New password
users-password-hint = 8 to 256 characters. Set on the server; Zondarr does not keep it.
users-password-set = Set password
users-cannot-delete = This server cannot delete accounts: only the Zondarr record can be removed.
users-delete = Delete…
users-audit = History
users-done-enabled = The account is enabled.
users-done-disabled = The account is disabled.
users-done-expiry = Expiry saved.
users-done-libraries = Libraries saved on the server.
users-done-permissions = Permissions saved on the server.
users-done-password = Password set on the server.
users-done-linked = Accounts linked.
users-done-unlinked = Account unlinked.
bulk-title = Bulk action
bulk-legend = With the selected users
bulk-action = Action
bulk-action-disable = Disable
bulk-action-enable = Enable
bulk-action-extend = Extend access by days
bulk-action-set-expiry = Set the end of access
bulk-action-clear-expiry = Never expire
bulk-action-delete = Delete
bulk-days = Days (to extend by)
bulk-expires = End of access (to set)
bulk-keep-remote = Keep the account on the server (remove it from Zondarr only)
bulk-review = Review…
bulk-none-selected = Select at least one user.
bulk-too-many = { $max ->
    [one] Select at most { $max } user at a time.
   *[other] Select at most { $max } users at a time.
}
bulk-choose-action = Choose an action.
bulk-days-invalid = Enter the days to extend by, 1 to 3650.
bulk-expires-invalid = Enter a date and time for the end of access.
bulk-confirm-lead = This is what will happen. Nothing has changed yet.
bulk-nothing-runnable = None of these servers can do this: every account would fail.
bulk-heading-enable = { $count ->
    [one] Enable { $count } user
   *[other] Enable { $count } users
}
bulk-heading-disable = { $count ->
    [one] Disable { $count } user
   *[other] Disable { $count } users
}
bulk-heading-extend = { $count ->
    [one] Extend access of { $count } user
   *[other] Extend access of { $count } users
}
bulk-heading-set-expiry = { $count ->
    [one] Set the end of access of { $count } user
   *[other] Set the end of access of { $count } users
}
bulk-heading-clear-expiry = { $count ->
    [one] Remove the end of access of { $count } user
   *[other] Remove the end of access of { $count } users
}
bulk-heading-delete = { $count ->
    [one] Delete { $count } user
   *[other] Delete { $count } users
}
bulk-part-enable = { $count ->
    [one] { $server } ({ $kind }): { $count } account will be enabled on the server.
   *[other] { $server } ({ $kind }): { $count } accounts will be enabled on the server.
}
bulk-part-disable = { $count ->
    [one] { $server } ({ $kind }): { $count } account will be disabled on the server; its owner can no longer sign in.
   *[other] { $server } ({ $kind }): { $count } accounts will be disabled on the server; their owners can no longer sign in.
}
bulk-part-extend = { $count ->
    [one] { $server } ({ $kind }): { $count } account gets { $days } more days, counted from its current end of access (or from now when it has none or it has passed).
   *[other] { $server } ({ $kind }): { $count } accounts get { $days } more days, each counted from its current end of access (or from now when it has none or it has passed).
}
bulk-part-set-expiry = { $count ->
    [one] { $server } ({ $kind }): access of { $count } account ends { $when }.
   *[other] { $server } ({ $kind }): access of { $count } accounts ends { $when }.
}
bulk-part-clear-expiry = { $count ->
    [one] { $server } ({ $kind }): access of { $count } account no longer ends.
   *[other] { $server } ({ $kind }): access of { $count } accounts no longer ends.
}
bulk-part-delete = { $count ->
    [one] { $server } ({ $kind }): { $count } account will be deleted on the server, then in Zondarr. This cannot be undone.
   *[other] { $server } ({ $kind }): { $count } accounts will be deleted on the server, then in Zondarr. This cannot be undone.
}
bulk-part-forget = { $count ->
    [one] { $server } ({ $kind }): { $count } account will be removed from Zondarr only; it stays on the server and user sync will not import it again.
   *[other] { $server } ({ $kind }): { $count } accounts will be removed from Zondarr only; they stay on the server and user sync will not import them again.
}
bulk-part-unsupported = { $count ->
    [one] { $server } ({ $kind }): { $kind } servers cannot do this; { $count } account will be skipped as failed.
   *[other] { $server } ({ $kind }): { $kind } servers cannot do this; { $count } accounts will be skipped as failed.
}
bulk-outcome = Outcome
bulk-done = done
bulk-summary = { $done } done, { $failed } failed.
