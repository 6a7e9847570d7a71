# Admin pages: account
nav-account = Konto
acc-title = Konto und Sicherheit
acc-tabs-label = Kontobereiche
acc-tab-account = Passwort und Anmeldung in zwei Schritten
acc-tab-sessions = Sitzungen
acc-tab-keys = API-Schlüssel
acc-back = Zurück zum Konto
acc-optional = (optional)
acc-never = nie
acc-current-password = Aktuelles Passwort
acc-fresh-sign-in-hint = Sie melden sich über Ihren Medienserver an, daher gibt es kein Passwort einzugeben: Änderungen hier brauchen eine Anmeldung aus den letzten 5 Minuten. Wird eine abgelehnt, melden Sie sich ab, wieder an und wiederholen Sie sie.
acc-step-up-notice = Diese Änderung braucht Ihr aktuelles Passwort.
acc-step-up-wrong = Das aktuelle Passwort ist falsch.
acc-step-up-required = Geben Sie Ihr aktuelles Passwort ein.
acc-step-up-fresh = Melden Sie sich neu an (innerhalb der letzten 5 Minuten) und wiederholen Sie dann die Änderung.
acc-password-title = Passwort
acc-password-lead = Ändern Sie das Passwort, mit dem Sie sich als { $name } anmelden.
acc-new-password = Neues Passwort
acc-password-revokes = Eine Änderung meldet alle anderen Sitzungen ab und widerruft alle API-Schlüssel: Sie wurden unter dem alten Passwort ausgestellt.
acc-password-submit = Passwort ändern
acc-password-changed = Ihr Passwort wurde geändert. Abgemeldete andere Sitzungen: { $sessions }. Widerrufene API-Schlüssel: { $keys }.
acc-totp-title = Anmeldung in zwei Schritten (TOTP)
acc-totp-state-on = an
acc-totp-state-off = aus
acc-totp-lead = Mit der Anmeldung in zwei Schritten fragt die Anmeldung zusätzlich nach einem 6-stelligen Code aus einer Authenticator-App auf Ihrem Telefon. Sie bestätigen die Änderung mit Ihrem aktuellen Passwort.
acc-totp-start = Anmeldung in zwei Schritten einrichten
acc-totp-enrol-title = Anmeldung in zwei Schritten einrichten
acc-totp-scan = Scannen Sie den QR-Code mit einer Authenticator-App (zum Beispiel Aegis, 2FAS, Google Authenticator oder Ihrem Passwortmanager).
acc-totp-manual = Oder geben Sie diesen Schlüssel in die App ein:
acc-totp-qr = QR-Code für Ihre Authenticator-App
acc-totp-first-code = Code aus der App
acc-totp-first-code-hint = Die 6 Ziffern, die die App gerade zeigt. Die Anmeldung in zwei Schritten ist erst an, wenn dieser Code stimmt.
acc-totp-confirm = Anmeldung in zwei Schritten einschalten
acc-totp-code-wrong = Der Code ist falsch oder wurde schon benutzt. Prüfen Sie die Uhr des Geräts und versuchen Sie den nächsten Code.
acc-totp-on-flash = Die Anmeldung in zwei Schritten ist an. Ab jetzt fragt die Anmeldung nach einem Code.
acc-totp-off-title = Ausschalten
acc-totp-off-submit = Anmeldung in zwei Schritten ausschalten
acc-totp-off-flash = Die Anmeldung in zwei Schritten ist aus.
acc-codes-left = { $count ->
    [one] Noch { $count } unbenutzter Ersatzcode.
   *[other] Noch { $count } unbenutzte Ersatzcodes.
}
acc-codes-title = Ihre Ersatzcodes
acc-codes-lead = Jeder Code meldet Sie einmal an, wenn Sie Ihr Telefon nicht dabeihaben. Bewahren Sie sie sicher auf: Sie werden nur jetzt gezeigt.
acc-codes-download = Als Textdatei herunterladen
acc-codes-done = Ich habe sie gespeichert
acc-codes-new-title = Neue Ersatzcodes
acc-codes-new-lead = Neue Codes ersetzen alle alten.
acc-codes-new-submit = Neue Ersatzcodes erzeugen
acc-codes-download-invalid = Das sind keine Ersatzcodes. Erzeugen Sie auf der Kontoseite neue.
acc-codes-file-heading = Ersatzcodes für { $name }. Jeder gilt einmal.
acc-sessions-title = Sitzungen
acc-sessions-lead = Wo und wann Sie angemeldet sind, wie der Browser es bei der Anmeldung angab. Melden Sie alles ab, was Sie nicht kennen.
acc-session-ip = Adresse
acc-session-agent = Browser
acc-session-signed-in = Angemeldet
acc-session-last-seen = Zuletzt gesehen
acc-session-expires = Endet spätestens
acc-session-action = Aktion
acc-session-this = diese Sitzung
acc-session-revoke = Abmelden
acc-sessions-revoke-others = { $count ->
    [one] Die andere Sitzung abmelden
   *[other] Alle { $count } anderen Sitzungen abmelden
}
acc-sessions-revoked = { $count ->
    [one] { $count } Sitzung abgemeldet.
   *[other] { $count } Sitzungen abgemeldet.
}
acc-keys-title = API-Schlüssel
acc-key-new = Neuer API-Schlüssel
acc-key-name = Name
acc-key-name-hint = Was den Schlüssel benutzt, z. B. „Sicherungsskript“. 1 bis 64 Zeichen.
acc-key-scope = Umfang
acc-scope-read = Nur lesen
acc-scope-read-hint = kann alles lesen, nichts ändern
acc-scope-admin = Admin
acc-scope-admin-hint = kann alles, was Sie können
acc-key-expires = Läuft ab
acc-key-expires-hint = Leer lassen für einen Schlüssel, der nicht abläuft. Zeitzone: { $tz }.
acc-key-create = API-Schlüssel erstellen
acc-keys-list = API-Schlüssel dieses Zondarr
acc-keys-total = { $count ->
    [one] { $count } Schlüssel
   *[other] { $count } Schlüssel
}
acc-key-prefix = Schlüssel beginnt mit
acc-key-state = Zustand
acc-key-created = Erstellt
acc-key-last-used = Zuletzt benutzt
acc-key-active = aktiv
acc-key-expired = abgelaufen
acc-key-revoked = widerrufen
acc-key-revoke = Widerrufen
acc-key-revoked-flash = Der API-Schlüssel wurde widerrufen. Er funktioniert nicht mehr.
acc-key-created-title = API-Schlüssel erstellt
acc-key-created-lead = Kopieren Sie den Schlüssel jetzt: Er wird nur dieses eine Mal gezeigt.
acc-key-label = Der API-Schlüssel
acc-key-copy = Schlüssel kopieren
acc-key-use-hint = Senden Sie ihn bei jeder Anfrage an die API als „Authorization: Bearer …“.
acc-key-saved = Ich habe ihn gespeichert
acc-key-revoke-title = API-Schlüssel „{ $name }“ widerrufen
acc-key-revoke-text = Was den Schlüssel benutzt, der mit { $prefix } beginnt, funktioniert sofort nicht mehr. Das lässt sich nicht rückgängig machen.
