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

root-title = Zondarr is running
root-text = This daemon works. The admin pages are not here yet; until then, manage it through the JSON API.
root-api = API description (OpenAPI)
root-health = Health check

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
field-remote-invalid = The media server did not accept this. Try a longer or different password.
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
done-apps = Get the { $kind } apps
done-expires = Your access lasts until { $date }.
pending-title = Creating your accounts
pending-text = Your accounts are being created. This page checks again on its own every few seconds; you can also close it and open it again later.
pending-check = Check now
