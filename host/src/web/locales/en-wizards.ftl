# Admin pages: the wizard builder
nav-wizards = Wizards
wiz-list-title = Wizards
wiz-list-lead = A wizard walks invitees through a few steps before or after they join: house rules, a quiz, a short wait to read something. Attach one to an invitation on the invitation's form.
wiz-none = No wizards yet. Start one below.
wiz-total = { $count ->
    [one] 1 wizard
   *[other] { $count } wizards
}
wiz-steps-count = { $count ->
    [one] 1 step
   *[other] { $count } steps
}
wiz-enabled = shown
wiz-disabled = hidden
wiz-new-title = New wizard
wiz-name = Name
wiz-description = Description
wiz-create = Create wizard
wiz-created-flash = Wizard created. Add its steps below.
wiz-deleted-flash = Wizard deleted.
wiz-previewed-flash = Preview finished: an invitee would now go on to the next part of joining.
wiz-not-found = There is no such wizard (it may have been deleted).
wiz-preview = Preview as invitee
wiz-steps = Steps
wiz-steps-hint = Invitees see the steps in this order. Move a step with its arrow buttons (or drag it).
wiz-no-steps = No steps yet: add the first one below. A wizard without steps is skipped.
wiz-move-up = Move step { $number } ({ $title }) up
wiz-move-down = Move step { $number } ({ $title }) down
wiz-add-step = Add step
wiz-step-title-field = Title
wiz-content = Content (Markdown)
wiz-content-hint = Headings, lists, links, bold and italics, tables. Images and scripts are removed.
wiz-content-limit = At most { $count } characters.
wiz-settings = Settings
wiz-enabled-field = Show this wizard to invitees
wiz-used-by = Used by
wiz-unused = No invitation uses this wizard.
wiz-delete-title = Delete the wizard “{ $name }”?
wiz-delete-text = { $count ->
    [0] No invitation uses it.
    [one] 1 invitation uses it; it keeps working without the wizard.
   *[other] { $count } invitations use it; they keep working without the wizard.
}
wiz-step-title = Step { $number } of { $name }
wiz-step-created-flash = Step added. Add what the invitee does here below (without anything, a “Continue” button).
wiz-step-content = Content
wiz-back-to = ← { $name }
wiz-render = Preview content
wiz-rendered = As invitees will see it
wiz-interactions = What the invitee does
wiz-interactions-hint = Everything here must be done before the invitee can go on; a step without any just has a “Continue” button.
wiz-no-interactions = Nothing yet: the invitee just continues.
wiz-add-interaction = Add
wiz-add-interaction-title = Add to this step
wiz-kind = Type
wiz-choose-kind = Show its settings
wiz-remove-interaction = Remove this { $kind }
wiz-delete-step = Delete this step
wiz-step-delete-title = Delete the step “{ $title }”?
wiz-step-delete-text = The steps after it move up. Invitees in the middle of the wizard start it again.
wiz-kind-click = button
wiz-kind-timer = timer
wiz-kind-terms = checkbox to accept
wiz-kind-text-input = text answer
wiz-kind-quiz = quiz
wiz-kind-none = just “Continue”
wiz-f-button-text = Button text
wiz-f-duration = Wait (seconds, 1 to 300)
wiz-f-terms-label = What the invitee accepts
wiz-f-label = Question
wiz-f-placeholder = Example answer shown in the field
wiz-f-required = An answer is required
wiz-f-min-length = Shortest answer (characters)
wiz-f-max-length = Longest answer (characters)
wiz-f-question = Question
wiz-f-options = Answers
wiz-f-options-hint = One per line, 2 to 10.
wiz-f-correct = Number of the right answer (1 is the first line)
wiz-preview-empty-title = Nothing to preview
wiz-preview-empty = This wizard has no steps yet.
wizard-preview-banner = Preview: this is what invitees see. Answers are checked, nothing is kept and no invitation is used.
