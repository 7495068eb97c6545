import type { mail as en } from "../en/mail";

/** Mail strings (French). */
export const mail: typeof en = {
  validity: {
    minute: "1 minute",
    minutes: "{n} minutes",
    hour: "1 heure",
    hours: "{n} heures",
  },
  layout: {
    linkFallback: "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :",
    codeLabel: "Votre code",
    when: "Quand",
    from: "Appareil",
    client: "{agent}, réseau {network}",
    unknownAgent: "un client inconnu",
    unknownNetwork: "une adresse inconnue",
    footer:
      "Ce message a été envoyé par {product} à {email}. Il a été envoyé automatiquement ; les réponses ne sont pas lues.",
  },
  activation: {
    subject: "Confirmez votre adresse e-mail pour {product}",
    heading: "Confirmez votre adresse e-mail",
    intro: "Bienvenue sur {product}. Confirmez que {email} est bien votre adresse pour activer votre compte.",
    action: "Confirmer l’adresse e-mail",
    validity: "Le lien ne fonctionne qu’une fois et expire dans {validity}.",
    notYou: "Si vous n’avez pas créé de compte, ignorez ce message : rien ne se passe sans ce lien.",
  },
  magic_link: {
    subject: "Votre lien de connexion à {product}",
    heading: "Connexion à {product}",
    intro:
      "Utilisez le bouton ci-dessous pour vous connecter en tant que {email}. Aucun mot de passe n’est nécessaire.",
    action: "Se connecter",
    validity: "Le lien ne fonctionne qu’une fois et expire dans {validity}.",
    notYou:
      "Si vous n’avez pas demandé à vous connecter, ignorez ce message : personne ne peut se connecter sans ce lien.",
  },
  passcode: {
    subject: "Votre code {product} : {code}",
    heading: "Votre code",
    intro: "Saisissez ce code pour poursuivre votre connexion à {product} en tant que {email}.",
    validity: "Le code expire dans {validity}. Ne le communiquez jamais à personne.",
    notYou:
      "Si vous n’avez pas demandé de code, ignorez ce message : personne ne peut se connecter sans lui.",
  },
  passcode_sign_up: {
    subject: "Votre code d’inscription {product} : {code}",
    heading: "Créez votre compte",
    intro: "Saisissez ce code pour créer votre compte {product} pour {email}.",
    validity: "Le code expire dans {validity}. Ne le communiquez jamais à personne.",
    notYou:
      "Si vous n’avez pas demandé à vous inscrire, ignorez ce message : aucun compte n’est créé sans ce code.",
  },
  password_reset: {
    subject: "Réinitialisez votre mot de passe {product}",
    heading: "Réinitialisez votre mot de passe",
    intro:
      "Quelqu’un a demandé à réinitialiser le mot de passe du compte {product} de {email}. Utilisez le bouton ci-dessous pour en choisir un nouveau.",
    action: "Choisir un nouveau mot de passe",
    validity: "Le lien ne fonctionne qu’une fois et expire dans {validity}.",
    notYou:
      "Si vous n’êtes pas à l’origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.",
  },
  email_change: {
    subject: "Confirmez votre nouvelle adresse e-mail pour {product}",
    heading: "Confirmez votre nouvelle adresse e-mail",
    intro: "Confirmez que {email} doit devenir l’adresse e-mail de votre compte {product}.",
    action: "Confirmer la nouvelle adresse",
    validity: "Le lien ne fonctionne qu’une fois et expire dans {validity}.",
    notYou:
      "Si vous n’êtes pas à l’origine de cette demande, ignorez ce message : le compte garde son adresse actuelle.",
  },
  address_taken_sign_up: {
    subject: "Quelqu’un a tenté de s’inscrire avec votre adresse e-mail",
    heading: "Quelqu’un a tenté de s’inscrire avec votre adresse",
    intro:
      "Quelqu’un a tenté de créer un compte {product} avec cette adresse e-mail. Elle a déjà un compte, aucun nouveau compte n’a donc été créé.",
    notYou:
      "Si c’était vous, connectez-vous plutôt, ou réinitialisez votre mot de passe si vous l’avez oublié. Sinon, vous pouvez ignorer ce message.",
  },
  address_taken_email_change: {
    subject: "Quelqu’un a tenté d’utiliser votre adresse e-mail",
    heading: "Quelqu’un a tenté d’utiliser votre adresse",
    intro:
      "Quelqu’un a tenté d’ajouter cette adresse e-mail à un autre compte {product}. Elle appartient à votre compte, rien n’a donc changé.",
    notYou:
      "Si c’était vous, connectez-vous plutôt avec cette adresse. Sinon, vous pouvez ignorer ce message.",
  },
  password_changed: {
    subject: "Votre mot de passe {product} a été modifié",
    heading: "Votre mot de passe a été modifié",
    intro: "Le mot de passe de votre compte {product} a été modifié.",
    notYou:
      "Si ce n’était pas vous, réinitialisez votre mot de passe maintenant : vos autres sessions ont été déconnectées.",
  },
  password_reset_done: {
    subject: "Votre mot de passe {product} a été réinitialisé",
    heading: "Votre mot de passe a été réinitialisé",
    intro:
      "Le mot de passe de votre compte {product} a été réinitialisé avec un lien envoyé à cette adresse.",
    notYou:
      "Si ce n’était pas vous, réinitialisez à nouveau votre mot de passe maintenant et sécurisez cette boîte mail.",
  },
  email_changed: {
    subject: "Votre adresse e-mail {product} a été modifiée",
    heading: "Votre adresse e-mail a été modifiée",
    intro: "L’adresse e-mail de votre compte {product} a été modifiée. La nouvelle adresse est {new_email}.",
    notYou:
      "Si ce n’était pas vous, réinitialisez votre mot de passe et contactez le support : vos autres sessions ont été déconnectées.",
  },
  totp_enabled: {
    subject: "L’authentification à deux facteurs a été activée",
    heading: "L’authentification à deux facteurs est activée",
    intro:
      "L’authentification à deux facteurs (une application d’authentification) a été activée pour votre compte {product}.",
    notYou: "Si ce n’était pas vous, réinitialisez votre mot de passe et contactez le support.",
  },
  totp_disabled: {
    subject: "L’authentification à deux facteurs a été désactivée",
    heading: "L’authentification à deux facteurs est désactivée",
    intro: "L’authentification à deux facteurs a été désactivée pour votre compte {product}.",
    notYou: "Si ce n’était pas vous, réinitialisez votre mot de passe maintenant et réactivez-la.",
  },
  passkey_added: {
    subject: "Une clé d’accès a été ajoutée à votre compte",
    heading: "Une nouvelle clé d’accès a été ajoutée",
    intro: "Une nouvelle clé d’accès a été ajoutée à votre compte {product}.",
    notYou:
      "Si ce n’était pas vous, supprimez la clé d’accès, réinitialisez votre mot de passe et contactez le support.",
  },
  recovery_code_used: {
    subject: "Un code de récupération a servi à se connecter",
    heading: "Un code de récupération a été utilisé",
    intro:
      "L’un de vos codes de récupération {product} a été utilisé à la place de votre application d’authentification pour vous connecter. Il vous reste {remaining} codes inutilisés.",
    notYou:
      "Si ce n’était pas vous, réinitialisez votre mot de passe maintenant et créez de nouveaux codes de récupération.",
  },
};
