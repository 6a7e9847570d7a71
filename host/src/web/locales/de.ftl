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
landing-message = Eine Nachricht deines Gastgebers
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
field-remote-invalid = Ein Medienserver hat diesen Benutzernamen oder dieses Passwort nicht angenommen, daher wurde nichts angelegt. Versuche einen Benutzernamen nur aus Buchstaben, Ziffern, Leerzeichen und . _ - @ + ' oder ein längeres Passwort.
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
done-how-address = Öffne eine { $kind }-App, verbinde dich mit der Serveradresse unten und melde dich mit diesem Benutzernamen und deinem Passwort an.
done-address = Serveradresse:
done-web = Im Browser anmelden
done-apps = { $kind }-Apps herunterladen
done-expires = Dein Zugang gilt bis { $date }.
pending-title = Deine Konten werden erstellt
pending-text = Deine Konten werden gerade erstellt. Diese Seite prüft alle paar Sekunden selbst nach; du kannst sie auch schließen und später wieder öffnen.
pending-check = Jetzt prüfen

# Admin-Seiten
format-datetime-local = %-d. %B %Y, %H:%M
nav-label = Verwaltung
nav-dashboard = Übersicht
nav-invitations = Einladungen
nav-servers = Server
nav-sign-out = Abmelden ({ $name })
admin-csrf-text = Dieses Formular gehört zu einer beendeten Sitzung oder kam von anderswo. Öffne die Seite neu und wiederhole die Änderung.
code-invalid-credentials = Benutzername oder Passwort falsch.
code-conflict = Das ist schon vergeben.
code-setup-host-refused = Die Einrichtung geht nur über die eigene Adresse dieses Servers (seine IP-Adresse, localhost oder seinen lokalen Namen). Bitte dort öffnen.
code-remote = Der Medienserver hat das nicht angenommen. Seine Antwort steht beim Feld.
code-not-found = Das gibt es nicht mehr.
cancel = Abbrechen
save = Speichern
edit = Bearbeiten
delete = Löschen
none = Keiner
never = Nie
yes = ja
no = nein
failed = fehlgeschlagen
none-yet = Noch nichts.
copy = Link kopieren
copied = Kopiert
saved-flash = Gespeichert.
field-number = Gib eine ganze Zahl ein.
field-datetime = Gib Datum und Uhrzeit ein.
pages-label = Seiten
setup-title = Zondarr einrichten
setup-lead = Lege das Admin-Konto an und gib an, unter welcher Adresse Zondarr erreichbar ist. Danach kannst du deinen ersten Medienserver hinzufügen.
setup-done-text = Die Einrichtung ist abgeschlossen. Melde dich stattdessen an.
setup-submit = Admin-Konto anlegen
field-admin-username = Admin-Benutzername
field-admin-username-hint = 3 bis 32 Zeichen: Buchstaben, Ziffern, _ . und -, am Anfang ein Buchstabe oder eine Ziffer.
field-admin-password-hint = Mindestens 12 Zeichen, nicht der Benutzername und kein häufiges Passwort.
field-password2-mismatch = Die beiden Passwörter sind verschieden.
strength-labels = Sehr schwach|Schwach|Mittel|Gut|Stark
strength-too-short = Zu kurz: mindestens 12 Zeichen.
field-public-url = Öffentliche Adresse
field-public-url-hint = Unter dieser Adresse öffnen Eingeladene ihre Links, z. B. https://media.example.org. Vorausgefüllt mit der Adresse, die du gerade benutzt.
field-public-url-locked = Von der Konfiguration festgelegt; hier nicht änderbar.
signin-title = Anmelden
signin-submit = Anmelden
signin-expired = Deine Sitzung ist abgelaufen. Melde dich erneut an, um dort weiterzumachen, wo du warst.
signin-signed-out = Du bist abgemeldet.
signin-code-lead = Gib den 6-stelligen Code aus deiner Authenticator-App oder einen deiner Backup-Codes ein.
field-code = Code
field-code-hint = 6 Ziffern oder ein Backup-Code wie abcd-efgh.
signin-code-wrong = Der Code ist falsch oder wurde schon benutzt. Ist die Anmeldung älter als fünf Minuten, beginne neu.
signin-verify = Bestätigen
signin-external = Oder melde dich mit deinem Medienserver an
signin-server-label = { $name } ({ $kind })
signin-server-username = Benutzername auf { $name }
signin-server-password = Passwort auf { $name }
signin-server-submit = Mit { $name } anmelden
signin-link-pending-title = Noch nicht bestätigt
signin-link-pending-text = Die Anmeldung wurde auf der Seite des Anbieters noch nicht bestätigt. Bestätige sie dort und prüfe dann erneut.
signin-locked = { $seconds ->
    [one] Zu viele fehlgeschlagene Anmeldungen. Versuche es in { $seconds } Sekunde erneut.
   *[other] Zu viele fehlgeschlagene Anmeldungen. Versuche es in { $seconds } Sekunden erneut.
}
signin-rate-limited = { $seconds ->
    [one] Zu viele Versuche. Versuche es in { $seconds } Sekunde erneut.
   *[other] Zu viele Versuche. Versuche es in { $seconds } Sekunden erneut.
}
signout-title = Abmelden
dash-title = Übersicht
dash-untrusted-proxy-title = Reverse-Proxy nicht vertrauenswürdig
dash-untrusted-proxy = Anfragen kommen über einen Reverse-Proxy, dem Zondarr nicht vertraut (zuletzt { $when }). Alle Besucher teilen sich dann die Adresse des Proxys und damit die Grenzen für Anmeldungen und Einladungen. Trage die Adresse des Proxys in die Einstellung http.trusted_proxies ein und starte neu.
dash-users = Benutzer
dash-no-servers = Noch ist kein Medienserver verbunden. Füge einen hinzu, um Leute einzuladen.
dash-inv-active = aktiv
dash-inv-pending = noch unbenutzt
dash-inv-used-up = aufgebraucht
dash-inv-expired = abgelaufen
dash-inv-disabled = deaktiviert
dash-users-active = aktiv
dash-users-disabled = deaktiviert
dash-users-expiring = laufen in 7 Tagen ab
dash-users-expired = abgelaufen
dash-users-vanished = nicht mehr auf ihrem Server
dash-plugin-problems = Connector-Plugins mit Problemen
dash-activity = Letzte Aktivität
dash-jobs = Letzte Job-Läufe
plugin-failed = konnte nicht geladen werden
plugin-unhealthy = gestört (zu oft abgestürzt)
health-healthy = in Ordnung
health-failing = gestört
health-connector-missing = Connector fehlt
health-disabled = deaktiviert
inv-list-title = Einladungen
inv-new-title = Neue Einladung
inv-edit-title = Einladung { $code } bearbeiten
inv-title = Einladung { $code }
inv-not-found = Diese Einladung gibt es nicht.
inv-status = Status
inv-status-active = aktiv
inv-status-unused = noch nicht benutzt
inv-status-used-up = aufgebraucht
inv-status-expired = abgelaufen
inv-status-disabled = deaktiviert
inv-sort-created-at = Erstellt
inv-sort-expires-at = Ablauf
inv-sort-code = Code
inv-sort-use-count = Nutzungen
inv-filter-status = Status
inv-filter-any = Alle
inv-filter-search = Code enthält
inv-filter-sort = Sortieren nach
inv-filter-order = Reihenfolge
inv-order-default = Standard
inv-order-asc = Aufsteigend
inv-order-desc = Absteigend
inv-filter-apply = Anzeigen
inv-total = { $count ->
    [one] { $count } Einladung
   *[other] { $count } Einladungen
}
inv-code = Code
inv-code-generated = Code erzeugen
inv-code-custom = Eigenen Code wählen
inv-code-custom-label = Eigener Code
inv-code-hint = 1 bis 32 Buchstaben, Ziffern, _ und -. Groß- und Kleinschreibung zählt nicht.
inv-servers = Server
inv-libraries = Bibliotheken
inv-libraries-of = Bibliotheken auf { $server }
inv-libraries-all = Alle Bibliotheken
inv-libraries-chosen = Nur diese:
inv-permissions = Rechte
inv-permissions-of = Rechte auf { $server }
inv-library-missing = Eine Bibliothek dieser Einladung gibt es auf dem Server nicht mehr; bearbeite die Einladung, bevor sie genutzt werden kann.
inv-uses = Nutzungen
inv-uses-of = { $used } von { $max }
inv-uses-unlimited = { $used }, unbegrenzt
inv-max-uses = Höchstzahl an Nutzungen
inv-max-uses-hint = Leer: unbegrenzt.
inv-expires = Läuft ab
inv-expires-hint = In deiner Zeitzone (UTC{ $tz }). Leer: nie.
inv-access = Zugang
inv-access-days-label = Zugang gilt (Tage)
inv-access-days-hint = Wie lange die angelegten Konten gelten. Leer: unbegrenzt.
inv-access-unlimited = Unbegrenzt
inv-access-days = { $days ->
    [one] { $days } Tag
   *[other] { $days } Tage
}
inv-pre-wizard = Assistent vor dem Beitritt
inv-post-wizard = Assistent nach dem Beitritt
inv-note = Notiz (nur für Admins)
inv-message = Nachricht an Eingeladene
inv-message-hint = Wird auf der Einladungsseite als reiner Text gezeigt, Zeilenumbrüche bleiben erhalten. Höchstens 1.000 Zeichen.
inv-enabled = Kann benutzt werden
inv-create = Einladung erstellen
inv-created = Erstellt
inv-created-flash = Die Einladung ist bereit. Schicke den Link oder zeige den QR-Code.
inv-link = Einladungslink
inv-link-hint = Wer diesen Link hat, kann beitreten, bis die Einladung aufgebraucht oder abgelaufen ist.
inv-qr = QR-Code des Links
inv-redemptions = Einlösungen
inv-no-redemptions = Noch niemand hat diese Einladung benutzt.
inv-redeemed-at = Wann
inv-delete-title = Einladung { $code } löschen?
inv-delete-text = Der Link funktioniert sofort nicht mehr. Bereits angelegte Konten bleiben auf ihren Servern.
user-active = aktiv
user-disabled = deaktiviert
user-vanished = nicht mehr auf dem Server
srv-name-taken = Ein anderer Server hat schon diesen Namen (Groß- und Kleinschreibung zählt nicht).
srv-list-title = Server
srv-add = Server hinzufügen
srv-none = Noch keine Server.
srv-server = Server
srv-new-title = Medienserver hinzufügen
srv-first-lead = Verbinde deinen ersten Medienserver oder überspringe das vorerst.
srv-first-skip = Überspringen
srv-choose-connector = Wähle die Art des Servers
srv-no-connectors = Kein Connector-Plugin ist geladen. Lege Connector-Plugins in den Plugin-Ordner und starte Zondarr neu.
srv-other-connector = Andere Art wählen
srv-name = Name
srv-url = Adresse
srv-url-hint = Die Adresse des Servers, wie Zondarr ihn erreicht, mit Port und Pfad, z. B. http://192.168.1.10:8096.
srv-accept-invalid-certs = Ein nicht prüfbares Zertifikat akzeptieren (selbst signiert)
srv-ca = CA-Zertifikat
srv-ca-hint = Wenn das Zertifikat deines Servers von deiner eigenen Zertifizierungsstelle (einer Heim-CA) signiert wurde, füge hier deren Zertifikat im PEM-Format ein (-----BEGIN CERTIFICATE----- …), eines oder mehrere. Zondarr vertraut ihm dann nur für die Adresse dieses Servers, zusätzlich zu den öffentlichen Stellen; es ist nicht geheim. Wer es hinzufügt oder ersetzt, muss die geheimen Felder erneut eingeben.
srv-ca-summary = { $subject }, gültig bis { $date }
srv-test = Verbindung testen
srv-test-ok = Verbunden:
srv-save = Server speichern
srv-libraries-count = { $count ->
    [one] { $count } Bibliothek
   *[other] { $count } Bibliotheken
}
srv-created-flash = Der Server ist verbunden und seine Bibliotheken wurden übernommen.
srv-deleted-flash = Der Server wurde gelöscht.
srv-not-found = Diesen Server gibt es nicht.
srv-kind = Art
srv-remote = Er meldet sich als
srv-last-sync = Letzter Abgleich
srv-last-checked = Zuletzt geprüft
srv-last-error = Letzter Fehler
srv-library-missing = nicht mehr auf dem Server
srv-connector-missing = Das Connector-Plugin „{ $kind }“ ist nicht geladen: lege es wieder in den Plugin-Ordner oder lösche diesen Server.
srv-connector-unhealthy = Das Connector-Plugin „{ $kind }“ ist zu oft abgestürzt und pausiert; Zondarr lädt es neu, oder starte Zondarr neu.
srv-connector-failed = Das Connector-Plugin „{ $kind }“ konnte nicht geladen werden; siehe die Plugin-Liste der API und das Log.
srv-delete-title = Server { $name } löschen?
srv-delete-text = Seine Benutzer und Bibliotheken werden aus Zondarr entfernt, nicht vom Medienserver: ihre Konten dort funktionieren weiter. Einladungen verlieren diesen Server als Ziel.
srv-edit-title = Server { $name } bearbeiten
srv-url-change-hint = Eine neue Adresse braucht die geheimen Felder erneut.
srv-secret-keep = Leer lassen, um den gespeicherten Wert zu behalten.
srv-secret-again = Die Adresse hat sich geändert: bitte erneut eingeben.
srv-secret-again-trust = Die vertrauenswürdigen Zertifikate haben sich geändert: bitte erneut eingeben.
srv-enable = Einschalten
srv-disable = Ausschalten
srv-disable-hint = Ein ausgeschalteter Server wird nicht kontaktiert; seine Benutzer behalten ihre Konten. Beim Einschalten wird die Verbindung zuerst getestet.
srv-enable-failed = Der Server konnte nicht eingeschaltet werden
srv-sync-preview = Jetzt abgleichen…
srv-sync-preview-title = { $name } abgleichen: Vorschau
srv-sync-preview-lead = Noch hat sich nichts geändert. Das würde ein Abgleich jetzt tun.
srv-sync-apply = Jetzt abgleichen
srv-sync-done-title = { $name } abgleichen: erledigt
srv-sync-done-lead = Der Abgleich ist gelaufen; das hat sich geändert.
srv-sync-failed = Der Abgleich ist nicht gelaufen
srv-sync-refused-title = { $name } abgleichen: von der Sicherheitsprüfung angehalten
srv-sync-refused-lead = Nichts wurde geändert: Der Server listet weit weniger Konten oder Bibliotheken, als Zondarr kennt.
srv-sync-refused-what = Das bedeutet oft eine falsche Adresse, ein abgelaufenes Token oder einen Server, der noch startet. Wenn die Konten unten wirklich fort sind, trotzdem abgleichen: Sie werden als verschwunden markiert (nie gelöscht) und kehren zurück, sobald der Server sie wieder listet.
srv-sync-force = Trotzdem abgleichen
srv-sync-working = Der Server wird gefragt… bei einem großen Server kann das eine Minute dauern.
srv-back-to = Zurück zu { $name }
sync-added = hinzugefügt
sync-imported = übernommen
sync-updated = aktualisiert
sync-returned = wieder da
sync-missing = nicht mehr gelistet (markiert)
sync-removed = entfernt
sync-vanished = verschwunden
sync-gone = weg
sync-excluded = ausgeschlossen
sync-unchanged = unverändert
sync-known = Zondarr bekannt
sync-remote = vom Server gelistet
srv-exclusions = Vom Benutzerabgleich ausgenommen
srv-exclusions-hint = Der Benutzerabgleich übernimmt Konten, die außerhalb von Zondarr auf dem Server angelegt wurden, außer diesen.
srv-exclusions-none = Keine Ausnahmen.
srv-exclusion-remove = { $name } wieder übernehmen
srv-exclusion-external-id = Die Kennung des Kontos auf dem Server
srv-exclusion-external-id-hint = So wie der Medienserver es nennt (Jellyfin: die Benutzer-ID).
srv-exclusion-add = Vom Benutzerabgleich ausnehmen
srv-exclusion-failed = Die Ausnahme wurde nicht geändert
srv-exclusion-field = Die Kennung des Kontos auf dem Server:

# Field rules of the admin forms (the domain's English rules, translated; see web/field_messages.rs)
fm-required = Dieses Feld ist erforderlich.
fm-future = Muss in der Zukunft liegen.
fm-max-uses = Gib eine Zahl von 1 bis 1.000.000 ein, oder lass das Feld leer für unbegrenzt.
fm-access-days = Gib eine Anzahl Tage von 1 bis 36.500 ein, oder lass das Feld leer für ohne Begrenzung.
fm-max-500 = Höchstens 500 Zeichen.
fm-max-1000 = Höchstens 1.000 Zeichen.
fm-code-length = 1 bis 32 Zeichen.
fm-code-chars = Erlaubt sind nur Buchstaben, Ziffern, _ und -.
fm-code-taken = Eine andere Einladung hat diesen Code schon (Groß- und Kleinschreibung zählt nicht).
fm-servers = Wähle mindestens einen Server.
fm-no-server = Diesen Server gibt es nicht mehr.
fm-no-wizard = Diesen Assistenten gibt es nicht mehr.
fm-twice = Doppelt angegeben.
fm-libraries-empty = Wähle mindestens eine Bibliothek oder alle.
fm-wrong-type = Dieser Wert hat den falschen Typ.
fm-connector-missing = Der Connector des Servers ist nicht geladen, daher lassen sich seine Berechtigungen nicht prüfen.
fm-hidden-chars = Enthält unsichtbare oder Steuerzeichen.
fm-length-64 = 1 bis 64 Zeichen.
fm-admin-username-length = 3 bis 32 Zeichen.
fm-admin-username-start = Muss mit einem Buchstaben oder einer Ziffer beginnen.
fm-admin-username-chars = Erlaubt sind nur Buchstaben, Ziffern, _ . und -.
fm-password-short = Mindestens 12 Zeichen.
fm-password-long = Höchstens 256 Zeichen.
fm-password-common = Dieses Passwort ist zu verbreitet. Wähle ein anderes.
fm-password-guessable = Dieses Passwort ist zu leicht zu erraten. Wähle ein anderes.
fm-origin = Gib einen Ursprung wie https://host oder https://host:port ein.
fm-unknown-host = Dieser Connector deklariert diesen Host nicht.
fm-no-connector = Es ist kein Connector-Plugin geladen.
fm-kind-fixed = Die Art lässt sich nicht ändern; lege stattdessen einen neuen Server an.
fm-ca-not-pem = Das ist kein gültiges PEM: ein Zertifikatsblock ist abgeschnitten oder beschädigt.
fm-ca-none = Hier ist kein Zertifikat: füge das CA-Zertifikat im PEM-Format ein (-----BEGIN CERTIFICATE----- …).
fm-ca-not-x509 = Ein Block hier ist kein gültiges X.509-CA-Zertifikat.
fm-ca-private-key = Das enthält einen privaten Schlüssel: gib nur das Zertifikat der CA an (ihr Schlüssel muss geheim bleiben).
fm-ca-other-block = Das enthält einen PEM-Block, der kein Zertifikat ist.
fm-ca-too-large = Höchstens 64 KiB.
fm-ca-too-many = Höchstens 32 Zertifikate.
fm-ca-with-invalid-certs = Ein CA-Zertifikat lässt sich nicht mit dem Akzeptieren nicht prüfbarer Zertifikate kombinieren: mit einem CA-Zertifikat wird das Zertifikat des Servers geprüft. Entferne dort das Häkchen.
fm-not-a-permission = ist keine Berechtigung von { $name }-Servern
fm-not-a-setting = ist keine Einstellung von { $name }-Servern
fm-no-admin-login = { $name }-Server können Admin-Anmeldungen nicht prüfen.
fm-library-missing = Die Bibliothek { $library } ist nicht mehr auf dem Server { $server }; wähle eine andere.
fm-library-foreign = Die Bibliothek { $library } gehört nicht zum Server { $server }.

draft-restored = Deine Sitzung war abgelaufen, daher wurde nichts gespeichert. Deine Eingaben stehen wieder unten (außer Passwörtern und geheimen Einstellungen): prüfe sie und speichere erneut.
draft-action-not-done = Deine Sitzung war abgelaufen, daher ist nichts geschehen. Prüfe die Seite und wiederhole den Schritt.
