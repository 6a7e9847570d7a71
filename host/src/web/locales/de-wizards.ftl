# Admin pages: the wizard builder
nav-wizards = Assistenten
wiz-list-title = Assistenten
wiz-list-lead = Ein Assistent führt Eingeladene vor oder nach dem Beitritt durch ein paar Schritte: Hausregeln, ein Quiz, eine kurze Wartezeit zum Lesen. Du hängst ihn im Formular einer Einladung an.
wiz-none = Noch keine Assistenten. Lege unten einen an.
wiz-total = { $count ->
    [one] 1 Assistent
   *[other] { $count } Assistenten
}
wiz-steps-count = { $count ->
    [one] 1 Schritt
   *[other] { $count } Schritte
}
wiz-enabled = sichtbar
wiz-disabled = ausgeblendet
wiz-new-title = Neuer Assistent
wiz-name = Name
wiz-description = Beschreibung
wiz-create = Assistent anlegen
wiz-created-flash = Assistent angelegt. Füge unten seine Schritte hinzu.
wiz-deleted-flash = Assistent gelöscht.
wiz-previewed-flash = Vorschau beendet: Eingeladene gingen jetzt zum nächsten Teil des Beitritts weiter.
wiz-not-found = Diesen Assistenten gibt es nicht (vielleicht wurde er gelöscht).
wiz-preview = Vorschau als eingeladene Person
wiz-steps = Schritte
wiz-steps-hint = Eingeladene sehen die Schritte in dieser Reihenfolge. Verschiebe einen Schritt mit seinen Pfeiltasten (oder ziehe ihn).
wiz-no-steps = Noch keine Schritte: Füge unten den ersten hinzu. Ein Assistent ohne Schritte wird übersprungen.
wiz-move-up = Schritt { $number } ({ $title }) nach oben
wiz-move-down = Schritt { $number } ({ $title }) nach unten
wiz-add-step = Schritt hinzufügen
wiz-step-title-field = Titel
wiz-content = Inhalt (Markdown)
wiz-content-hint = Überschriften, Listen, Links, fett und kursiv, Tabellen. Bilder und Skripte werden entfernt.
wiz-content-limit = Höchstens { $count } Zeichen.
wiz-settings = Einstellungen
wiz-enabled-field = Diesen Assistenten Eingeladenen zeigen
wiz-used-by = Verwendet von
wiz-unused = Keine Einladung verwendet diesen Assistenten.
wiz-delete-title = Assistent „{ $name }“ löschen?
wiz-delete-text = { $count ->
    [0] Keine Einladung verwendet ihn.
    [one] 1 Einladung verwendet ihn; sie funktioniert ohne den Assistenten weiter.
   *[other] { $count } Einladungen verwenden ihn; sie funktionieren ohne den Assistenten weiter.
}
wiz-step-title = Schritt { $number } von { $name }
wiz-step-created-flash = Schritt hinzugefügt. Lege unten fest, was Eingeladene hier tun (ohne etwas: eine Schaltfläche „Weiter“).
wiz-step-content = Inhalt
wiz-back-to = ← { $name }
wiz-render = Inhalt ansehen
wiz-rendered = So sehen Eingeladene ihn
wiz-interactions = Was Eingeladene tun
wiz-interactions-hint = Alles hier muss erledigt sein, bevor es weitergeht; ein Schritt ohne etwas hat nur eine Schaltfläche „Weiter“.
wiz-no-interactions = Noch nichts: Eingeladene gehen einfach weiter.
wiz-add-interaction = Hinzufügen
wiz-add-interaction-title = Zu diesem Schritt hinzufügen
wiz-kind = Art
wiz-choose-kind = Einstellungen zeigen
wiz-remove-interaction = Diese(s) { $kind } entfernen
wiz-delete-step = Diesen Schritt löschen
wiz-step-delete-title = Schritt „{ $title }“ löschen?
wiz-step-delete-text = Die Schritte danach rücken auf. Wer gerade im Assistenten ist, beginnt ihn neu.
wiz-kind-click = Schaltfläche
wiz-kind-timer = Wartezeit
wiz-kind-terms = Zustimmung
wiz-kind-text-input = Textantwort
wiz-kind-quiz = Quiz
wiz-kind-none = nur „Weiter“
wiz-f-button-text = Text der Schaltfläche
wiz-f-duration = Wartezeit (Sekunden, 1 bis 300)
wiz-f-terms-label = Wozu Eingeladene zustimmen
wiz-f-label = Frage
wiz-f-placeholder = Beispielantwort im Feld
wiz-f-required = Eine Antwort ist nötig
wiz-f-min-length = Kürzeste Antwort (Zeichen)
wiz-f-max-length = Längste Antwort (Zeichen)
wiz-f-question = Frage
wiz-f-options = Antworten
wiz-f-options-hint = Eine pro Zeile, 2 bis 10.
wiz-f-correct = Nummer der richtigen Antwort (1 ist die erste Zeile)
wiz-preview-empty-title = Nichts anzusehen
wiz-preview-empty = Dieser Assistent hat noch keine Schritte.
wizard-preview-banner = Vorschau: So sehen es Eingeladene. Antworten werden geprüft, nichts wird gespeichert und keine Einladung verwendet.
