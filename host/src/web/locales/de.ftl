# Deutscher Katalog der Webseiten. Jeder Schlüssel des englischen Katalogs muss hier stehen
# (ein Unit-Test prüft das). Datumsangaben: chrono-Formate.

format-datetime = %-d. %B %Y, %H:%M UTC

skip-to-content = Zum Inhalt springen
language-switcher = Sprache
footer-powered = Einladungen mit Zondarr
optional = (optional)
error-code = Fehlercode
request-id = Anfrage-ID
try-again = Erneut versuchen
back = Zurück

root-title = Zondarr läuft
root-text = Dieser Dienst funktioniert. Die Verwaltungsseiten gibt es noch nicht; bis dahin wird er über die JSON-API verwaltet.
root-api = API-Beschreibung (OpenAPI)
root-health = Zustandsprüfung

error-not-found-title = Seite nicht gefunden
error-not-found-text = Unter dieser Adresse gibt es nichts. Prüfe den Link, den du bekommen hast.
error-internal-title = Etwas ist schiefgegangen
error-internal-text = Der Server konnte diese Anfrage nicht beantworten. Versuche es gleich noch einmal; wenn es weiter nicht klappt, nenne der Person, die dich eingeladen hat, die Anfrage-ID unten.
error-request-title = Diese Anfrage konnte nicht bearbeitet werden
error-request-text = Die Seite konnte mit der Anfrage nichts anfangen. Geh zurück und versuche es noch einmal.
error-home = Startseite

invalid-title = Diese Einladung kann nicht verwendet werden
invalid-text = Der Link ist vielleicht falsch geschrieben, abgelaufen oder schon aufgebraucht. Bitte die Person, die dich eingeladen hat, um einen neuen.

rate-limited-title = Zu viele Versuche
rate-limited-text-soon = Von deiner Adresse kamen zu viele Anfragen. Warte eine Minute und versuche es dann erneut.
rate-limited-text = { $seconds ->
    [one] Von deiner Adresse kamen zu viele Anfragen. Versuche es in { $seconds } Sekunde erneut.
   *[other] Von deiner Adresse kamen zu viele Anfragen. Versuche es in { $seconds } Sekunden erneut.
}

failed-title = Es wurde nichts angelegt
failed-text = Dein Konto konnte gerade nicht eingerichtet werden, und nichts ist halb fertig geblieben. Bitte versuche es in ein paar Minuten erneut.

csrf-title = Dieses Formular ist abgelaufen
csrf-text = Zu deiner Sicherheit gelten Formulare nur eine Weile und nur in dem Browser, der sie geöffnet hat. Öffne die Seite erneut und sende sie noch einmal.

landing-title = Einladung zu { $instance }
landing-heading = { $instance } lädt dich ein
landing-lead = Du bist eingeladen, auf diesen Medienservern zu schauen. Dein Konto ist in einer Minute eingerichtet.
landing-servers = Was du bekommst
landing-libraries = Bibliotheken: { $libraries }
landing-all-libraries = Alle Bibliotheken
landing-access = Wie lange der Zugang gilt
landing-access-days = { $days ->
    [one] { $days } Tag ab deinem Beitritt
   *[other] { $days } Tage ab deinem Beitritt
}
landing-access-unlimited = Ohne zeitliche Begrenzung
landing-expires = Nimm die Einladung an bis
landing-wizard = { $steps ->
    [one] Zuerst gibt es { $steps } kurzen Schritt.
   *[other] Zuerst gibt es { $steps } kurze Schritte.
}
landing-start = Einladung annehmen

wizard-step-of = Schritt { $number } von { $count }
wizard-continue = Weiter
wizard-timer = { $seconds ->
    [one] Nimm dir mindestens { $seconds } Sekunde Zeit für diesen Schritt.
   *[other] Nimm dir mindestens { $seconds } Sekunden Zeit für diesen Schritt.
}
wizard-wait = { $seconds ->
    [one] Bitte noch { $seconds } Sekunde warten.
   *[other] Bitte noch { $seconds } Sekunden warten.
}
wizard-wait-js = Weiter in %s s
wizard-restarted = Die Schritte wurden geändert oder dein Fortschritt war zu alt, daher beginnen sie wieder beim ersten.
wizard-quiz-wrong = Das ist nicht die richtige Antwort. Versuche eine andere.
wizard-quiz-choose = Wähle eine Antwort.
wizard-terms-required = Setze das Häkchen, um fortzufahren.
wizard-text-length = Gib zwischen { $min } und { $max } Zeichen ein.
wizard-answer-invalid = Prüfe diese Antwort.
form-has-errors = Bitte prüfe die unten markierten Felder.

account-title = Konto erstellen
account-lead = Dein Konto wird angelegt auf:
account-link-explain = Melde dich mit deinem { $kind }-Konto an; { $kind } fragt dich, ob du den Zugriff erlaubst.
account-link-button = Mit { $kind } anmelden
account-linked = Mit { $kind } angemeldet als { $name }.
account-linked-unnamed = deinem Konto
link-popup-wait = Ein Fenster zur Anmeldung hat sich geöffnet. Schließe die Anmeldung dort ab; diese Seite geht dann von selbst weiter.
link-popup-failed = Die Anmeldung hat nicht geklappt. Versuche es erneut.
account-submit = Mein Konto erstellen

field-username = Benutzername
field-username-hint = 1 bis 64 Zeichen, ohne < > " / \ und ohne Leerzeichen am Anfang oder Ende. Damit meldest du dich an.
field-password = Passwort
field-password-hint = Mindestens 8 Zeichen.
field-password2 = Passwort wiederholen
field-email = E-Mail-Adresse
field-required = Dieses Feld ist erforderlich.
field-username-invalid = Dieser Benutzername ist nicht erlaubt: 1 bis 64 Zeichen, ohne < > " / \ und ohne Leerzeichen am Anfang oder Ende.
field-username-taken = Dieser Benutzername ist schon vergeben. Wähle einen anderen.
field-password-length = Das Passwort braucht mindestens 8 Zeichen.
field-password-mismatch = Die beiden Passwörter stimmen nicht überein.
field-email-invalid = Das sieht nicht nach einer E-Mail-Adresse aus.
field-remote-invalid = Der Medienserver hat das nicht angenommen. Versuche ein längeres oder anderes Passwort.
field-link-required = Melde dich zuerst mit dem Knopf oben an.

link-pending-title = Warte auf deine Freigabe
link-pending-text = Die Anmeldung wurde noch nicht freigegeben. Schließe sie im anderen Fenster oder Tab ab und prüfe dann erneut.
link-check-again = Erneut prüfen
link-start-over = Neu beginnen
link-expired-title = Die Anmeldung ist abgelaufen
link-expired-text = Die Anmeldung hat zu lange gedauert und ist abgelaufen. Beginne sie neu.

done-title = Geschafft
done-lead = Deine Konten sind bereit.
done-username = Benutzername:
done-how-credentials = Öffne eine { $kind }-App, verbinde dich mit { $server } (die Adresse bekommst du von der Person, die dich eingeladen hat) und melde dich mit diesem Benutzernamen und deinem Passwort an.
done-how-linked = Öffne eine beliebige { $kind }-App und melde dich mit deinem { $kind }-Konto an; die freigegebenen Bibliotheken erscheinen dort.
done-apps = { $kind }-Apps herunterladen
done-expires = Dein Zugang gilt bis { $date }.
pending-title = Deine Konten werden erstellt
pending-text = Deine Konten werden gerade erstellt. Diese Seite prüft alle paar Sekunden selbst nach; du kannst sie auch schließen und später wieder öffnen.
pending-check = Jetzt prüfen
