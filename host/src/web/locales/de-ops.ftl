# Admin pages: ops
nav-plugins = Plugins
nav-settings = Einstellungen
nav-jobs = Aufgaben
nav-logs = Protokoll
nav-audit = Prüfprotokoll

plg-title = Connector-Plugins
plg-lead = Jeder Connector, den der Dienst kennt: die mitgelieferten und die Dateien im Plugin-Ordner, auch abgelehnte Dateien und der Grund dafür.
plg-rescan = Plugin-Ordner neu einlesen
plg-rescan-hint = Neue und geänderte Dateien werden von selbst geladen; neu einlesen, wo der Ordner nicht zuverlässig beobachtet wird (Netzlaufwerke).
plg-rescanned = Neu eingelesen:
plg-rescan-loaded = { $count ->
    [one] 1 Datei geladen
   *[other] { $count } Dateien geladen
}
plg-rescan-failed = { $count ->
    [one] 1 abgelehnt
   *[other] { $count } abgelehnt
}
plg-rescan-removed = { $count ->
    [one] 1 entfernt
   *[other] { $count } entfernt
}
plg-rescan-waiting = { $count ->
    [one] 1 wartet auf Freigabe
   *[other] { $count } warten auf Freigabe
}
plg-approved = Die neue Version von { $id } ist freigegeben und wird jetzt verwendet.
plg-source-bundled = mit Zondarr geliefert
plg-source-bundled-name = mit Zondarr geliefert ({ $name })
plg-source-folder = Plugin-Ordner, Datei { $file }
plg-state-loaded = geladen
plg-unknown = Unbekannte Datei
plg-load-error = Laden fehlgeschlagen:
plg-older-serves = Die zuvor geladene Version bleibt in Betrieb.
plg-pending = Wartet auf Ihre Freigabe:
plg-approve = Diese Version freigeben
plg-refuse = Ablehnen
plg-refuse-hint = Beim Ablehnen bleibt die Version, die jetzt läuft (oder diese läuft ohne die zusätzlichen Hosts, die sie verlangt). Dieselbe Datei wird nicht erneut vorgelegt, eine geänderte schon. Um die Datei zu entfernen, löschen Sie sie aus dem Plugin-Ordner.
plg-refused = Die wartende Version von { $id } ist abgelehnt. Sie wird erst wieder vorgelegt, wenn sich ihre Datei ändert.
plg-refused-title = Von einem Admin abgelehnt:
plg-id = Kennung
plg-source = Herkunft
plg-contract = Vertragsversion
plg-loaded-at = Geladen
plg-calls = Aufrufe seit dem Start
plg-calls-value = { $count ->
    [one] 1 Aufruf
   *[other] { $count } Aufrufe
}
plg-errors-value = { $count ->
    [one] 1 Fehler
   *[other] { $count } Fehler
}
plg-crashes-value = { $count ->
    [one] 1 Absturz in Folge
   *[other] { $count } Abstürze in Folge
}
plg-capabilities = Fähigkeiten
plg-permissions = Berechtigungen, die es verwaltet
plg-perm-label = Berechtigung
plg-perm-key = Schlüssel
plg-perm-kind = Typ
plg-perm-default = Standard
plg-hosts = Weitere Hosts außer dem Server
plg-hosts-none = Keine: es spricht nur mit dem Server, für den es eingerichtet ist.
plg-host-credentials = erhält die Zugangsdaten des Servers
plg-host-no-credentials = keine Zugangsdaten

set-title = Einstellungen
set-lead = Diese Einstellungen gelten sofort, ohne Neustart. Eine Einstellung, die in der Umgebung, auf der Befehlszeile oder in der Konfigurationsdatei festgelegt ist, wird nur angezeigt; ändern Sie sie dort.
set-group-public = Öffentliche Adresse
set-group-sessions = Sitzungen
set-group-sync = Abgleich und Ablauf
set-group-limits = Ratenbegrenzungen
set-group-logging = Protokollierung
set-group-branding = Erscheinungsbild und Sprache
set-allowed-number = Eine ganze Zahl von { $min } bis { $max }.
set-allowed-bool = An oder aus.
set-allowed-choice = Eines von: { $list }.
set-allowed-url = Eine Adresse, die mit http:// oder https:// beginnt, ohne Abfrage oder Fragment.
set-allowed-color = Eine Farbe wie #3366cc; leer für das eingebaute Blau.
set-allowed-log = Eine Stufe (error, warn, info, debug, trace) oder ein Filter wie zondarr=debug,info.
set-allowed-text = Beliebiger Text.
set-source = Wert aus
set-source-default = eingebauter Standard
set-source-derived = aus anderen Einstellungen berechnet
set-source-file = Konfigurationsdatei
set-source-env = Umgebung
set-source-flag = Befehlszeile
set-source-app = hier geändert
set-default = Standard
set-default-computed = berechnet
set-locked-env = Gesperrt: die Umgebungsvariable { $name } legt sie fest.
set-locked-flag = Gesperrt: die Befehlszeilenoption { $name } legt sie fest.
set-locked-file = Gesperrt: die Konfigurationsdatei legt sie fest.
set-error-locked = Diese Einstellung ist durch die Konfiguration gesperrt; ändern Sie sie dort.
set-error-invalid = Nicht angenommen. { $allowed }
set-on = an
set-off = aus
set-reset = Zurück zum Standard
set-save = Einstellungen speichern
set-nothing-changed = Es wurde nichts geändert.
set-public-url = Öffentliche Adresse
set-public-url-help = Die Adresse, unter der man Zondarr erreicht: Einladungslinks und der vertrauenswürdige Ursprung für die Anmeldung.
set-ui-instance-name = Name dieser Instanz
set-ui-instance-name-help = Oben auf jeder Seite und in den Seitentiteln angezeigt.
set-ui-accent-color = Akzentfarbe
set-ui-accent-color-help = Farbe von Schaltflächen und Links.
set-ui-default-language = Standardsprache
set-ui-default-language-help = Sprache der Seiten, wenn der Browser keine verlangt, die Zondarr hat.
set-jobs-sync-interval-secs = Abgleich alle (Sekunden)
set-jobs-sync-interval-secs-help = Wie oft Bibliotheken und Benutzer jedes Servers abgeglichen werden; 0 schaltet den geplanten Abgleich aus.
set-jobs-expiry-interval-secs = Ablauf prüfen alle (Sekunden)
set-jobs-expiry-interval-secs-help = Wie oft abgelaufene Einladungen und Konten behandelt werden; 0 schaltet es aus.
set-jobs-keep-days = Aufgabenläufe aufbewahren (Tage)
set-jobs-keep-days-help = Ältere Aufzeichnungen von Aufgabenläufen werden gelöscht.
set-sync-max-vanished-percent = Höchstanteil als verschwunden markierter Konten (%)
set-sync-max-vanished-percent-help = Der Benutzerabgleich markiert nie mehr als diesen Anteil der Konten eines Servers als verschwunden (100: nie ablehnen).
set-expiry-action = Wenn der Zugang endet
set-expiry-action-help = Das Konto deaktivieren oder auf dem Server und in Zondarr löschen.
set-expiry-grace-hours = Schonfrist (Stunden)
set-expiry-grace-hours-help = Stunden nach dem Ende des Zugangs, bevor die Aktion ausgeführt wird.
set-expiry-fallback = Wo Konten nicht deaktiviert werden können
set-expiry-fallback-help = Für Server, die Konten nicht deaktivieren können (Plex): Bibliothekszugriff entfernen, das Konto löschen oder es nur melden.
set-security-session-idle-minutes = Abmelden nach Inaktivität (Minuten)
set-security-session-idle-minutes-help = Eine Admin-Sitzung endet nach so vielen Minuten ohne Anfrage.
set-security-session-absolute-hours = Längste Sitzung (Stunden)
set-security-session-absolute-hours-help = Eine Admin-Sitzung endet so viele Stunden nach der Anmeldung, wie aktiv sie auch ist.
set-security-secure-cookies = Sichere Cookies
set-security-secure-cookies-help = Cookies nur über HTTPS senden: auto tut es, wenn die öffentliche Adresse https ist.
set-security-login-per-ip-per-minute = Anmeldeversuche pro Adresse und Minute
set-security-login-per-ip-per-minute-help = Weitere Versuche von derselben Adresse müssen warten.
set-security-login-per-account-per-minute = Anmeldeversuche pro Konto und Minute
set-security-login-per-account-per-minute-help = Weitere Versuche für dasselbe Konto müssen warten.
set-security-join-per-ip-per-minute = Beitrittsseiten pro Adresse und Minute
set-security-join-per-ip-per-minute-help = Einladungsprüfungen und Beitrittsseiten, die eine Adresse öffnen darf.
set-security-join-poll-per-ip-per-minute = Anmeldeprüfungen pro Adresse und Minute
set-security-join-poll-per-ip-per-minute-help = Wie oft eine Adresse fragen darf, ob eine verknüpfte Anmeldung (Plex) bestätigt wurde.
set-security-join-wizard-per-ip-per-minute = Assistentenschritte pro Adresse und Minute
set-security-join-wizard-per-ip-per-minute-help = Antworten im Assistenten, die eine Adresse senden darf.
set-security-join-redeem-per-ip-per-minute = Kontoerstellungen pro Adresse und Minute
set-security-join-redeem-per-ip-per-minute-help = Einlösungen, die eine Adresse starten darf.
set-security-join-redeem-wait-secs = Auf neue Konten warten (Sekunden)
set-security-join-redeem-wait-secs-help = Wie lange die Beitrittsseite auf die Konten wartet, bevor sie den Fortschritt zeigt; die Einlösung läuft in jedem Fall weiter.
set-security-lockout-after = Sperren nach fehlgeschlagenen Anmeldungen
set-security-lockout-after-help = Fehlgeschlagene Anmeldungen in Folge, nach denen das Konto eine Weile gesperrt wird.
set-security-lockout-base-secs = Erste Sperre (Sekunden)
set-security-lockout-base-secs-help = Wie lange die erste Sperre dauert; jede weitere dauert länger.
set-security-lockout-max-secs = Längste Sperre (Sekunden)
set-security-lockout-max-secs-help = Sperren dauern nie länger als das.
set-log-level = Protokollstufe
set-log-level-help = Welche Ereignisse der Dienst protokolliert (und die Protokollseite zeigt).

job-title = Aufgaben
job-run-now = Jetzt ausführen
job-run-button = { $job } ausführen
job-run-library-sync = Bibliotheken von { $name } abgleichen
job-run-user-sync = Benutzer von { $name } abgleichen
job-run-failed = Die Aufgabe wurde nicht ausgeführt
job-ran = { $job }: { $outcome }.
job-no-server = Wählen Sie einen Server aus der Liste.
job-filter-job = Aufgabe
job-filter-server = Server
job-filter-outcome = Ergebnis
job-filter-trigger = Gestartet von
job-total = { $count ->
    [one] 1 Lauf
   *[other] { $count } Läufe
}
job-started = Gestartet
job-job = Aufgabe
job-outcome = Ergebnis
job-duration = Dauer
job-did = Was sie tat
job-running = läuft
job-duration-ms = { $n } ms
job-duration-s = { $n } s
job-invitation-expiry = Ablauf von Einladungen
job-user-expiry = Ablauf von Benutzern
job-library-sync = Bibliotheksabgleich
job-user-sync = Benutzerabgleich
job-redemption-recovery = Wiederherstellung von Einlösungen
job-cleanup = Aufräumen
job-prune-job-runs = Alte Aufgabenläufe löschen
job-trigger-automatic = Zeitplan
job-trigger-manual = ein Admin
job-outcome-running = läuft
job-outcome-succeeded = erfolgreich
job-outcome-failed = fehlgeschlagen
job-outcome-refused = abgelehnt
job-outcome-interrupted = unterbrochen

log-title = Protokoll
log-lead = Die neuesten Protokollereignisse des Dienstes, neueste zuerst (Protokollfilter: { $filter }). Werte, die geheim aussehen, sind verborgen.
log-filter-level = Stufe mindestens
log-level-any = Alle
log-level-error = Fehler
log-level-warn = Warnung
log-level-info = Info
log-level-debug = Debug
log-level-trace = Trace
log-bad-level = Wählen Sie eine Stufe aus der Liste.
log-filter-target = Quelle
log-filter-target-hint = Der Anfang des Modulpfads, z. B. zondarr::jobs oder zondarr::plugin.
log-refresh = Aktualisieren
log-pause = Anhalten
log-resume = Fortsetzen
log-static = Angezeigt werden die Ereignisse zum Zeitpunkt des Ladens der Seite.
log-live = Live: neue Ereignisse erscheinen oben.
log-paused = Angehalten: neue Ereignisse werden zurückgehalten, bis Sie fortsetzen.
log-reconnecting = Verbindung verloren; neu verbinden …
log-lagged = { $n } Ereignisse wurden übersprungen.
log-none = Keine passenden Ereignisse.

aud-title = Prüfprotokoll
aud-filter-action = Aktion
aud-filter-action-hint = Genau, wie auth.login, oder alles, was mit einem Präfix mit Punkt am Ende beginnt, wie server.
aud-filter-actor = Akteur
aud-filter-outcome = Ergebnis
aud-filter-since = Von ({ $tz })
aud-filter-until = Bis ({ $tz })
aud-bad-time = Geben Sie Datum und Uhrzeit ein.
aud-clear = Filter zurücksetzen
aud-total = { $count ->
    [one] 1 Ereignis
   *[other] { $count } Ereignisse
}
aud-when = Wann
aud-action = Aktion
aud-about = Betrifft
aud-actor = Akteur
aud-outcome = Ergebnis
aud-detail = Details
aud-outcome-success = Erfolg
aud-outcome-failure = Fehlschlag
job-nothing = nichts zu tun
