# Admin pages: users
users-of-invitation = Alle Konten aus dieser Einladung
users-of-server = Konten auf diesem Server
nav-users = Benutzer
users-title = Benutzer
users-not-found = Diesen Benutzer gibt es nicht.
users-total = { $count ->
    [one] { $count } Benutzer
   *[other] { $count } Benutzer
}
users-filter-search = Name oder E-Mail
users-filter-server = Server
users-filter-status = Zustand
users-filter-expiry = Ablauf
users-filter-sort = Sortieren nach
users-filter-order = Reihenfolge
users-filter-any = Alle
users-filter-reset = Zurücksetzen
users-filter-invalid = Wähle einen der angebotenen Werte.
users-filter-invitation = Nur Konten aus der Einladung { $code }.
users-filter-drop = Alle Einladungen zeigen
users-status-active = aktiv
users-status-enabled = aktiviert
users-status-disabled = deaktiviert
users-status-vanished = vom Server verschwunden
users-expiry-expiring = läuft in 7 Tagen ab
users-expiry-expired = abgelaufen
users-expiry-never = läuft nie ab
users-sort-username = Benutzername
users-sort-created-at = Erstellt
users-sort-expires-at = Ablauf
users-sort-server = Server
users-state-expired = abgelaufen
users-select = Auswählen
users-select-one = { $name } auswählen
users-select-all = Alle auf dieser Seite auswählen
users-select-none = Auswahl aufheben
users-username = Benutzername
users-email = E-Mail
users-server = Server
users-state = Zustand
users-expires = Zugang endet
users-expires-hint = In deiner Zeitzone (UTC{ $tz }).
users-created = Erstellt
users-external-id = Kennung auf dem Server
users-source = Herkunft
users-source-invitation = eine Einladung
users-source-sync = Benutzerabgleich (auf dem Server angelegt)
users-source-manual = von Hand angelegt
users-kind = Art des Kontos
users-vanished-at = Vom Server verschwunden seit
users-expiry-action = Ablaufbehandlung
users-invitation = Einladung
users-server-page = Server { $server }
users-enable = Aktivieren
users-disable = Deaktivieren
users-cannot-disable = Dieser Server kann Konten nicht aktivieren oder deaktivieren.
users-person = Person und verknüpfte Konten
users-person-none = Dieses Konto ist noch mit keiner Person verknüpft. Das Verknüpfen eines weiteren Kontos legt eine an.
users-unlink = { $name } lösen
users-link-label = Weiteres Konto verknüpfen
users-link-hint = Sein Benutzername, oder #Kennung bei mehreren mit gleichem Namen.
users-link = Verknüpfen
users-link-empty = Gib einen Benutzernamen oder eine #Kennung ein.
users-link-none = Kein anderes Konto heißt { $name }.
users-link-many = Mehrere Konten heißen so: { $choices }. Gib eines als #Kennung ein.
users-expiry = Ablauf
users-expiry-clear = Nie ablaufen
users-access = Zugang auf { $server }
users-access-from-invitation = Die aktuellen Einstellungen werden nicht vom Server gelesen: das Formular zeigt, was die Einladung gewährt hat. Speichern ersetzt den Zugang auf dem Server.
users-access-from-defaults = Die aktuellen Einstellungen werden nicht vom Server gelesen: das Formular zeigt die Vorgaben des Connectors. Speichern ersetzt den Zugang auf dem Server.
users-save-libraries = Bibliotheken speichern
users-permissions = Berechtigungen
users-save-permissions = Berechtigungen speichern
users-password = Passwort
users-password-new = Neues Passwort
users-password-hint = 8 bis 256 Zeichen. Wird auf dem Server gesetzt; Zondarr speichert es nicht.
users-password-set = Passwort setzen
users-cannot-delete = Dieser Server kann keine Konten löschen: nur der Eintrag in Zondarr kann entfernt werden.
users-delete = Löschen …
users-audit = Verlauf
users-done-enabled = Das Konto ist aktiviert.
users-done-disabled = Das Konto ist deaktiviert.
users-done-expiry = Ablauf gespeichert.
users-done-libraries = Bibliotheken auf dem Server gespeichert.
users-done-permissions = Berechtigungen auf dem Server gespeichert.
users-done-password = Passwort auf dem Server gesetzt.
users-done-linked = Konten verknüpft.
users-done-unlinked = Konto gelöst.
bulk-title = Sammelaktion
bulk-legend = Mit den ausgewählten Benutzern
bulk-action = Aktion
bulk-action-disable = Deaktivieren
bulk-action-enable = Aktivieren
bulk-action-extend = Zugang um Tage verlängern
bulk-action-set-expiry = Ende des Zugangs setzen
bulk-action-clear-expiry = Nie ablaufen
bulk-action-delete = Löschen
bulk-days = Tage (zum Verlängern)
bulk-expires = Ende des Zugangs (zum Setzen)
bulk-keep-remote = Konto auf dem Server behalten (nur aus Zondarr entfernen)
bulk-review = Prüfen …
bulk-none-selected = Wähle mindestens einen Benutzer aus.
bulk-too-many = { $max ->
    [one] Wähle höchstens { $max } Benutzer auf einmal.
   *[other] Wähle höchstens { $max } Benutzer auf einmal.
}
bulk-choose-action = Wähle eine Aktion.
bulk-days-invalid = Gib die Tage zum Verlängern ein, 1 bis 3650.
bulk-expires-invalid = Gib Datum und Uhrzeit für das Ende des Zugangs ein.
bulk-confirm-lead = Das wird geschehen. Noch ist nichts geändert.
bulk-nothing-runnable = Keiner dieser Server kann das: jedes Konto würde fehlschlagen.
bulk-heading-enable = { $count ->
    [one] { $count } Benutzer aktivieren
   *[other] { $count } Benutzer aktivieren
}
bulk-heading-disable = { $count ->
    [one] { $count } Benutzer deaktivieren
   *[other] { $count } Benutzer deaktivieren
}
bulk-heading-extend = { $count ->
    [one] Zugang von { $count } Benutzer verlängern
   *[other] Zugang von { $count } Benutzern verlängern
}
bulk-heading-set-expiry = { $count ->
    [one] Ende des Zugangs von { $count } Benutzer setzen
   *[other] Ende des Zugangs von { $count } Benutzern setzen
}
bulk-heading-clear-expiry = { $count ->
    [one] Ende des Zugangs von { $count } Benutzer aufheben
   *[other] Ende des Zugangs von { $count } Benutzern aufheben
}
bulk-heading-delete = { $count ->
    [one] { $count } Benutzer löschen
   *[other] { $count } Benutzer löschen
}
bulk-part-enable = { $count ->
    [one] { $server } ({ $kind }): { $count } Konto wird auf dem Server aktiviert.
   *[other] { $server } ({ $kind }): { $count } Konten werden auf dem Server aktiviert.
}
bulk-part-disable = { $count ->
    [one] { $server } ({ $kind }): { $count } Konto wird auf dem Server deaktiviert; sein Besitzer kann sich nicht mehr anmelden.
   *[other] { $server } ({ $kind }): { $count } Konten werden auf dem Server deaktiviert; ihre Besitzer können sich nicht mehr anmelden.
}
bulk-part-extend = { $count ->
    [one] { $server } ({ $kind }): { $count } Konto erhält { $days } Tage mehr, gezählt ab dem bisherigen Ende des Zugangs (oder ab jetzt, wenn es keines gibt oder es vorbei ist).
   *[other] { $server } ({ $kind }): { $count } Konten erhalten { $days } Tage mehr, jeweils gezählt ab dem bisherigen Ende des Zugangs (oder ab jetzt, wenn es keines gibt oder es vorbei ist).
}
bulk-part-set-expiry = { $count ->
    [one] { $server } ({ $kind }): der Zugang von { $count } Konto endet { $when }.
   *[other] { $server } ({ $kind }): der Zugang von { $count } Konten endet { $when }.
}
bulk-part-clear-expiry = { $count ->
    [one] { $server } ({ $kind }): der Zugang von { $count } Konto endet nicht mehr.
   *[other] { $server } ({ $kind }): der Zugang von { $count } Konten endet nicht mehr.
}
bulk-part-delete = { $count ->
    [one] { $server } ({ $kind }): { $count } Konto wird auf dem Server gelöscht, danach in Zondarr. Das lässt sich nicht rückgängig machen.
   *[other] { $server } ({ $kind }): { $count } Konten werden auf dem Server gelöscht, danach in Zondarr. Das lässt sich nicht rückgängig machen.
}
bulk-part-forget = { $count ->
    [one] { $server } ({ $kind }): { $count } Konto wird nur aus Zondarr entfernt; es bleibt auf dem Server, und der Benutzerabgleich übernimmt es nicht wieder.
   *[other] { $server } ({ $kind }): { $count } Konten werden nur aus Zondarr entfernt; sie bleiben auf dem Server, und der Benutzerabgleich übernimmt sie nicht wieder.
}
bulk-part-unsupported = { $count ->
    [one] { $server } ({ $kind }): { $kind }-Server können das nicht; { $count } Konto wird als fehlgeschlagen übersprungen.
   *[other] { $server } ({ $kind }): { $kind }-Server können das nicht; { $count } Konten werden als fehlgeschlagen übersprungen.
}
bulk-outcome = Ergebnis
bulk-done = erledigt
bulk-summary = { $done } erledigt, { $failed } fehlgeschlagen.
