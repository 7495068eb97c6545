import type { mail as en } from "../en/mail";

/** Mail strings (German). */
export const mail: typeof en = {
  validity: {
    minute: "1 Minute",
    minutes: "{n} Minuten",
    hour: "1 Stunde",
    hours: "{n} Stunden",
  },
  layout: {
    linkFallback: "Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:",
    codeLabel: "Ihr Code",
    when: "Wann",
    from: "Gerät",
    client: "{agent}, Netzwerk {network}",
    unknownAgent: "ein unbekannter Client",
    unknownNetwork: "eine unbekannte Adresse",
    footer:
      "Diese Nachricht hat {product} an {email} gesendet. Sie wurde automatisch verschickt; Antworten werden nicht gelesen.",
  },
  activation: {
    subject: "Bestätigen Sie Ihre E-Mail-Adresse für {product}",
    heading: "Bestätigen Sie Ihre E-Mail-Adresse",
    intro:
      "Willkommen bei {product}. Bestätigen Sie, dass {email} Ihre Adresse ist, um Ihr Konto zu aktivieren.",
    action: "E-Mail-Adresse bestätigen",
    validity: "Der Link funktioniert einmal und läuft in {validity} ab.",
    notYou:
      "Wenn Sie kein Konto angelegt haben, ignorieren Sie diese Nachricht: Ohne diesen Link passiert nichts.",
  },
  magic_link: {
    subject: "Ihr Anmeldelink für {product}",
    heading: "Bei {product} anmelden",
    intro: "Mit der Schaltfläche unten melden Sie sich als {email} an. Ein Passwort ist nicht nötig.",
    action: "Anmelden",
    validity: "Der Link funktioniert einmal und läuft in {validity} ab.",
    notYou:
      "Wenn Sie keine Anmeldung angefordert haben, ignorieren Sie diese Nachricht: Ohne diesen Link kann sich niemand anmelden.",
  },
  passcode: {
    subject: "Ihr Code für {product}: {code}",
    heading: "Ihr Code",
    intro: "Geben Sie diesen Code ein, um die Anmeldung bei {product} als {email} fortzusetzen.",
    validity: "Der Code läuft in {validity} ab. Geben Sie ihn niemals weiter.",
    notYou:
      "Wenn Sie keinen Code angefordert haben, ignorieren Sie diese Nachricht: Ohne ihn kann sich niemand anmelden.",
  },
  passcode_sign_up: {
    subject: "Ihr Registrierungscode für {product}: {code}",
    heading: "Konto anlegen",
    intro: "Geben Sie diesen Code ein, um Ihr {product}-Konto für {email} anzulegen.",
    validity: "Der Code läuft in {validity} ab. Geben Sie ihn niemals weiter.",
    notYou:
      "Wenn Sie sich nicht registrieren wollten, ignorieren Sie diese Nachricht: Ohne diesen Code wird kein Konto angelegt.",
  },
  password_reset: {
    subject: "Setzen Sie Ihr Passwort für {product} zurück",
    heading: "Passwort zurücksetzen",
    intro:
      "Jemand möchte das Passwort des {product}-Kontos für {email} zurücksetzen. Mit der Schaltfläche unten wählen Sie ein neues.",
    action: "Neues Passwort wählen",
    validity: "Der Link funktioniert einmal und läuft in {validity} ab.",
    notYou:
      "Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.",
  },
  email_change: {
    subject: "Bestätigen Sie Ihre neue E-Mail-Adresse für {product}",
    heading: "Bestätigen Sie Ihre neue E-Mail-Adresse",
    intro: "Bestätigen Sie, dass {email} die neue E-Mail-Adresse Ihres {product}-Kontos werden soll.",
    action: "Neue Adresse bestätigen",
    validity: "Der Link funktioniert einmal und läuft in {validity} ab.",
    notYou:
      "Wenn Sie das nicht angefordert haben, ignorieren Sie diese Nachricht: Das Konto behält seine bisherige Adresse.",
  },
  address_taken_sign_up: {
    subject: "Jemand wollte sich mit Ihrer E-Mail-Adresse registrieren",
    heading: "Jemand wollte sich mit Ihrer Adresse registrieren",
    intro:
      "Jemand hat versucht, mit dieser E-Mail-Adresse ein {product}-Konto anzulegen. Zu ihr gibt es schon ein Konto, daher wurde kein neues angelegt.",
    notYou:
      "Wenn Sie es waren, melden Sie sich stattdessen an oder setzen Sie Ihr Passwort zurück, falls Sie es vergessen haben. Wenn nicht, können Sie diese Nachricht ignorieren.",
  },
  address_taken_email_change: {
    subject: "Jemand wollte Ihre E-Mail-Adresse verwenden",
    heading: "Jemand wollte Ihre Adresse verwenden",
    intro:
      "Jemand hat versucht, diese E-Mail-Adresse einem anderen {product}-Konto hinzuzufügen. Sie gehört zu Ihrem Konto, daher hat sich nichts geändert.",
    notYou:
      "Wenn Sie es waren, melden Sie sich stattdessen mit dieser Adresse an. Wenn nicht, können Sie diese Nachricht ignorieren.",
  },
  password_changed: {
    subject: "Ihr Passwort für {product} wurde geändert",
    heading: "Ihr Passwort wurde geändert",
    intro: "Das Passwort Ihres {product}-Kontos wurde geändert.",
    notYou:
      "Wenn Sie das nicht waren, setzen Sie Ihr Passwort jetzt zurück: Ihre anderen Sitzungen wurden abgemeldet.",
  },
  password_reset_done: {
    subject: "Ihr Passwort für {product} wurde zurückgesetzt",
    heading: "Ihr Passwort wurde zurückgesetzt",
    intro:
      "Das Passwort Ihres {product}-Kontos wurde mit einem Link zurückgesetzt, der an diese Adresse gesendet wurde.",
    notYou:
      "Wenn Sie das nicht waren, setzen Sie Ihr Passwort jetzt erneut zurück und sichern Sie dieses Postfach.",
  },
  email_changed: {
    subject: "Ihre E-Mail-Adresse für {product} wurde geändert",
    heading: "Ihre E-Mail-Adresse wurde geändert",
    intro: "Die E-Mail-Adresse Ihres {product}-Kontos wurde geändert. Die neue Adresse ist {new_email}.",
    notYou:
      "Wenn Sie das nicht waren, setzen Sie Ihr Passwort zurück und wenden Sie sich an den Support: Ihre anderen Sitzungen wurden abgemeldet.",
  },
  totp_enabled: {
    subject: "Die Zwei-Faktor-Authentifizierung wurde eingeschaltet",
    heading: "Die Zwei-Faktor-Authentifizierung ist an",
    intro:
      "Für Ihr {product}-Konto wurde die Zwei-Faktor-Authentifizierung (eine Authenticator-App) eingeschaltet.",
    notYou: "Wenn Sie das nicht waren, setzen Sie Ihr Passwort zurück und wenden Sie sich an den Support.",
  },
  totp_disabled: {
    subject: "Die Zwei-Faktor-Authentifizierung wurde ausgeschaltet",
    heading: "Die Zwei-Faktor-Authentifizierung ist aus",
    intro: "Für Ihr {product}-Konto wurde die Zwei-Faktor-Authentifizierung ausgeschaltet.",
    notYou: "Wenn Sie das nicht waren, setzen Sie Ihr Passwort jetzt zurück und schalten Sie sie wieder ein.",
  },
  passkey_added: {
    subject: "Ihrem Konto wurde ein Passkey hinzugefügt",
    heading: "Ein neuer Passkey wurde hinzugefügt",
    intro: "Ihrem {product}-Konto wurde ein neuer Passkey hinzugefügt.",
    notYou:
      "Wenn Sie das nicht waren, entfernen Sie den Passkey, setzen Sie Ihr Passwort zurück und wenden Sie sich an den Support.",
  },
  recovery_code_used: {
    subject: "Mit einem Wiederherstellungscode wurde angemeldet",
    heading: "Ein Wiederherstellungscode wurde benutzt",
    intro:
      "Einer Ihrer Wiederherstellungscodes für {product} wurde statt der Authenticator-App zur Anmeldung benutzt. Es sind noch {remaining} unbenutzte Codes übrig.",
    notYou:
      "Wenn Sie das nicht waren, setzen Sie jetzt Ihr Passwort zurück und erstellen Sie neue Wiederherstellungscodes.",
  },
};
