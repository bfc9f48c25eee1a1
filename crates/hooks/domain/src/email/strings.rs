//! Built-in e-mail wording in each supported locale. Every string is a template over the same
//! placeholders as the layout (`{{ app_name }}`, `{{ new_email }}`, …); the layout escapes what
//! it inserts, so user values inside these strings are escaped exactly once.

use super::EmailKind;

/// Locales with built-in wording; the first is the fallback.
pub const LOCALES: [&str; 3] = ["en", "de", "fr"];

/// The wording of one e-mail kind.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KindStrings {
    pub(crate) subject: &'static str,
    pub(crate) preheader: &'static str,
    pub(crate) heading: &'static str,
    pub(crate) intro: &'static str,
    /// Button label (kinds with a link).
    pub(crate) button: &'static str,
    /// Line above the code (kinds with a code).
    pub(crate) code_intro: &'static str,
    pub(crate) outro: &'static str,
}

/// Wording shared by every kind.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Common {
    pub(crate) greeting: &'static str,
    pub(crate) link_fallback: &'static str,
    pub(crate) sent_to: &'static str,
    pub(crate) help: &'static str,
    pub(crate) factor_totp: &'static str,
    pub(crate) factor_phone: &'static str,
    pub(crate) factor_webauthn: &'static str,
}

/// The supported locale for a user's `locale` preference (`de-AT`, `fr_CA`, `DE`), else
/// `default` if supported, else English.
#[must_use]
pub fn locale_for(preference: &str, default: &str) -> &'static str {
    let primary = |tag: &str| -> Option<&'static str> {
        let lang = tag
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        LOCALES.into_iter().find(|l| *l == lang)
    };
    primary(preference)
        .or_else(|| primary(default))
        .unwrap_or("en")
}

const EN_COMMON: Common = Common {
    greeting: "{{#if name}}Hi {{name}},{{else}}Hi,{{/if}}",
    link_fallback: "If the button doesn't work, copy this link into your browser:",
    sent_to: "This email was sent to {{to}} by {{app_name}}.",
    help: "Need help? Contact us at {{support_contact}}.",
    factor_totp: "authenticator app",
    factor_phone: "phone (SMS)",
    factor_webauthn: "security key",
};

const DE_COMMON: Common = Common {
    greeting: "{{#if name}}Hallo {{name}},{{else}}Hallo,{{/if}}",
    link_fallback: "Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:",
    sent_to: "Diese E-Mail wurde von {{app_name}} an {{to}} gesendet.",
    help: "Brauchen Sie Hilfe? Schreiben Sie uns: {{support_contact}}.",
    factor_totp: "Authenticator-App",
    factor_phone: "Telefon (SMS)",
    factor_webauthn: "Sicherheitsschlüssel",
};

const FR_COMMON: Common = Common {
    greeting: "{{#if name}}Bonjour {{name}},{{else}}Bonjour,{{/if}}",
    link_fallback: "Si le bouton ne fonctionne pas, copiez ce lien dans votre navigateur :",
    sent_to: "Cet e-mail a été envoyé à {{to}} par {{app_name}}.",
    help: "Besoin d'aide ? Contactez-nous : {{support_contact}}.",
    factor_totp: "application d'authentification",
    factor_phone: "téléphone (SMS)",
    factor_webauthn: "clé de sécurité",
};

const fn s(
    subject: &'static str,
    preheader: &'static str,
    heading: &'static str,
    intro: &'static str,
    button: &'static str,
    code_intro: &'static str,
    outro: &'static str,
) -> KindStrings {
    KindStrings {
        subject,
        preheader,
        heading,
        intro,
        button,
        code_intro,
        outro,
    }
}

fn en(kind: EmailKind) -> KindStrings {
    match kind {
        EmailKind::Signup => s(
            "Confirm your email for {{app_name}}",
            "One click to finish creating your account.",
            "Confirm your email address",
            "Thanks for signing up for {{app_name}}. Confirm your email address to finish creating your account.",
            "Confirm email address",
            "Or enter this code:",
            "If you didn't create an account, you can ignore this email.",
        ),
        EmailKind::Invite => s(
            "You're invited to {{app_name}}",
            "Accept your invitation to get started.",
            "You've been invited",
            "You have been invited to join {{app_name}}. Accept the invitation to set up your account.",
            "Accept invitation",
            "Or enter this code:",
            "If you weren't expecting an invitation, you can ignore this email.",
        ),
        EmailKind::Magiclink => s(
            "Your sign-in link for {{app_name}}",
            "Sign in with one click. The link works once.",
            "Sign in to {{app_name}}",
            "Use the button below to sign in. The link can be used once and expires soon.",
            "Sign in",
            "Or enter this code:",
            "If you didn't try to sign in, you can ignore this email. Your account is safe.",
        ),
        EmailKind::Recovery => s(
            "Reset your {{app_name}} password",
            "Choose a new password for your account.",
            "Reset your password",
            "We received a request to reset the password for {{email}}.",
            "Reset password",
            "Or enter this code:",
            "If you didn't ask to reset your password, ignore this email. Your password won't change.",
        ),
        EmailKind::EmailChange => s(
            "Confirm your new email for {{app_name}}",
            "Confirm the change of your email address.",
            "Confirm your email change",
            "{{#if to_new_address}}Confirm {{new_email}} as the new email address of your {{app_name}} account.{{else}}Confirm that you want to change the email address of your {{app_name}} account from {{email}} to {{new_email}}.{{/if}}",
            "Confirm email change",
            "Or enter this code:",
            "If you didn't ask for this change, contact support right away.",
        ),
        EmailKind::Reauthentication => s(
            "Your {{app_name}} verification code",
            "Use this code to confirm it's you.",
            "Confirm it's you",
            "Enter this code to continue with the change you started.",
            "",
            "Your verification code:",
            "If you didn't request this code, someone may be trying to change your account. Consider changing your password.",
        ),
        EmailKind::PasswordChangedNotification => s(
            "Your {{app_name}} password was changed",
            "Your password was just changed.",
            "Your password was changed",
            "The password of your {{app_name}} account {{email}} was just changed.",
            "",
            "",
            "If you didn't change it, reset your password now and contact support.",
        ),
        EmailKind::EmailChangedNotification => s(
            "Your {{app_name}} email address was changed",
            "Your account now uses a different email address.",
            "Your email address was changed",
            "The email address of your {{app_name}} account was changed from {{old_email}} to {{email}}.",
            "",
            "",
            "If you didn't make this change, contact support right away.",
        ),
        EmailKind::PhoneChangedNotification => s(
            "Your {{app_name}} phone number was changed",
            "Your account now uses a different phone number.",
            "Your phone number was changed",
            "The phone number of your {{app_name}} account was changed{{#if old_phone}} from {{old_phone}}{{/if}}.",
            "",
            "",
            "If you didn't make this change, contact support right away.",
        ),
        EmailKind::IdentityLinkedNotification => s(
            "A sign-in method was added to your {{app_name}} account",
            "{{provider}} can now be used to sign in.",
            "New sign-in method",
            "{{provider}} can now be used to sign in to your {{app_name}} account.",
            "",
            "",
            "If you didn't add it, contact support right away.",
        ),
        EmailKind::IdentityUnlinkedNotification => s(
            "A sign-in method was removed from your {{app_name}} account",
            "{{provider}} can no longer be used to sign in.",
            "Sign-in method removed",
            "{{provider}} can no longer be used to sign in to your {{app_name}} account.",
            "",
            "",
            "If you didn't remove it, contact support right away.",
        ),
        EmailKind::MfaFactorEnrolledNotification => s(
            "Two-factor authentication added to your {{app_name}} account",
            "A new second factor protects your account.",
            "Second factor added",
            "A new {{factor}} was added as a second factor to your {{app_name}} account.",
            "",
            "",
            "If you didn't add it, contact support right away.",
        ),
        EmailKind::MfaFactorUnenrolledNotification => s(
            "Two-factor authentication removed from your {{app_name}} account",
            "A second factor was removed from your account.",
            "Second factor removed",
            "A {{factor}} was removed from the second factors of your {{app_name}} account.",
            "",
            "",
            "If you didn't remove it, contact support right away.",
        ),
        EmailKind::Welcome => s(
            "Welcome to {{app_name}}",
            "Your account is ready.",
            "Welcome to {{app_name}}",
            "Your account is ready. We're glad you're here.",
            "Open {{app_name}}",
            "",
            "",
        ),
    }
}

fn de(kind: EmailKind) -> KindStrings {
    match kind {
        EmailKind::Signup => s(
            "Bestätigen Sie Ihre E-Mail-Adresse für {{app_name}}",
            "Ein Klick, um Ihr Konto fertig einzurichten.",
            "Bestätigen Sie Ihre E-Mail-Adresse",
            "Danke für Ihre Registrierung bei {{app_name}}. Bestätigen Sie Ihre E-Mail-Adresse, um Ihr Konto fertig einzurichten.",
            "E-Mail-Adresse bestätigen",
            "Oder geben Sie diesen Code ein:",
            "Wenn Sie kein Konto angelegt haben, können Sie diese E-Mail ignorieren.",
        ),
        EmailKind::Invite => s(
            "Sie sind zu {{app_name}} eingeladen",
            "Nehmen Sie Ihre Einladung an.",
            "Sie wurden eingeladen",
            "Sie wurden zu {{app_name}} eingeladen. Nehmen Sie die Einladung an, um Ihr Konto einzurichten.",
            "Einladung annehmen",
            "Oder geben Sie diesen Code ein:",
            "Wenn Sie keine Einladung erwartet haben, können Sie diese E-Mail ignorieren.",
        ),
        EmailKind::Magiclink => s(
            "Ihr Anmeldelink für {{app_name}}",
            "Mit einem Klick anmelden. Der Link gilt einmal.",
            "Bei {{app_name}} anmelden",
            "Melden Sie sich über die Schaltfläche an. Der Link kann einmal verwendet werden und läuft bald ab.",
            "Anmelden",
            "Oder geben Sie diesen Code ein:",
            "Wenn Sie sich nicht anmelden wollten, können Sie diese E-Mail ignorieren. Ihr Konto ist sicher.",
        ),
        EmailKind::Recovery => s(
            "Setzen Sie Ihr Passwort für {{app_name}} zurück",
            "Wählen Sie ein neues Passwort für Ihr Konto.",
            "Passwort zurücksetzen",
            "Wir haben eine Anfrage erhalten, das Passwort für {{email}} zurückzusetzen.",
            "Passwort zurücksetzen",
            "Oder geben Sie diesen Code ein:",
            "Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail. Ihr Passwort bleibt unverändert.",
        ),
        EmailKind::EmailChange => s(
            "Bestätigen Sie Ihre neue E-Mail-Adresse für {{app_name}}",
            "Bestätigen Sie die Änderung Ihrer E-Mail-Adresse.",
            "E-Mail-Änderung bestätigen",
            "{{#if to_new_address}}Bestätigen Sie {{new_email}} als neue E-Mail-Adresse Ihres Kontos bei {{app_name}}.{{else}}Bestätigen Sie, dass die E-Mail-Adresse Ihres Kontos bei {{app_name}} von {{email}} zu {{new_email}} geändert werden soll.{{/if}}",
            "Änderung bestätigen",
            "Oder geben Sie diesen Code ein:",
            "Wenn Sie diese Änderung nicht angefordert haben, wenden Sie sich sofort an den Support.",
        ),
        EmailKind::Reauthentication => s(
            "Ihr Bestätigungscode für {{app_name}}",
            "Bestätigen Sie mit diesem Code, dass Sie es sind.",
            "Bestätigen Sie, dass Sie es sind",
            "Geben Sie diesen Code ein, um mit der begonnenen Änderung fortzufahren.",
            "",
            "Ihr Bestätigungscode:",
            "Wenn Sie diesen Code nicht angefordert haben, versucht möglicherweise jemand, Ihr Konto zu ändern. Ändern Sie am besten Ihr Passwort.",
        ),
        EmailKind::PasswordChangedNotification => s(
            "Ihr Passwort für {{app_name}} wurde geändert",
            "Ihr Passwort wurde soeben geändert.",
            "Ihr Passwort wurde geändert",
            "Das Passwort Ihres Kontos {{email}} bei {{app_name}} wurde soeben geändert.",
            "",
            "",
            "Wenn Sie das nicht waren, setzen Sie Ihr Passwort sofort zurück und wenden Sie sich an den Support.",
        ),
        EmailKind::EmailChangedNotification => s(
            "Ihre E-Mail-Adresse bei {{app_name}} wurde geändert",
            "Ihr Konto verwendet jetzt eine andere E-Mail-Adresse.",
            "Ihre E-Mail-Adresse wurde geändert",
            "Die E-Mail-Adresse Ihres Kontos bei {{app_name}} wurde von {{old_email}} zu {{email}} geändert.",
            "",
            "",
            "Wenn Sie das nicht waren, wenden Sie sich sofort an den Support.",
        ),
        EmailKind::PhoneChangedNotification => s(
            "Ihre Telefonnummer bei {{app_name}} wurde geändert",
            "Ihr Konto verwendet jetzt eine andere Telefonnummer.",
            "Ihre Telefonnummer wurde geändert",
            "Die Telefonnummer Ihres Kontos bei {{app_name}} wurde geändert{{#if old_phone}} (bisher {{old_phone}}){{/if}}.",
            "",
            "",
            "Wenn Sie das nicht waren, wenden Sie sich sofort an den Support.",
        ),
        EmailKind::IdentityLinkedNotification => s(
            "Neue Anmeldemethode für Ihr Konto bei {{app_name}}",
            "Sie können sich jetzt mit {{provider}} anmelden.",
            "Neue Anmeldemethode",
            "Sie können sich jetzt mit {{provider}} bei Ihrem Konto bei {{app_name}} anmelden.",
            "",
            "",
            "Wenn Sie das nicht waren, wenden Sie sich sofort an den Support.",
        ),
        EmailKind::IdentityUnlinkedNotification => s(
            "Anmeldemethode aus Ihrem Konto bei {{app_name}} entfernt",
            "Die Anmeldung mit {{provider}} ist nicht mehr möglich.",
            "Anmeldemethode entfernt",
            "Sie können sich nicht mehr mit {{provider}} bei Ihrem Konto bei {{app_name}} anmelden.",
            "",
            "",
            "Wenn Sie das nicht waren, wenden Sie sich sofort an den Support.",
        ),
        EmailKind::MfaFactorEnrolledNotification => s(
            "Zwei-Faktor-Authentifizierung für {{app_name}} hinzugefügt",
            "Ein neuer zweiter Faktor schützt Ihr Konto.",
            "Zweiter Faktor hinzugefügt",
            "Zu Ihrem Konto bei {{app_name}} wurde ein neuer zweiter Faktor hinzugefügt: {{factor}}.",
            "",
            "",
            "Wenn Sie das nicht waren, wenden Sie sich sofort an den Support.",
        ),
        EmailKind::MfaFactorUnenrolledNotification => s(
            "Zwei-Faktor-Authentifizierung für {{app_name}} entfernt",
            "Ein zweiter Faktor wurde aus Ihrem Konto entfernt.",
            "Zweiter Faktor entfernt",
            "Aus Ihrem Konto bei {{app_name}} wurde ein zweiter Faktor entfernt: {{factor}}.",
            "",
            "",
            "Wenn Sie das nicht waren, wenden Sie sich sofort an den Support.",
        ),
        EmailKind::Welcome => s(
            "Willkommen bei {{app_name}}",
            "Ihr Konto ist bereit.",
            "Willkommen bei {{app_name}}",
            "Ihr Konto ist bereit. Schön, dass Sie da sind.",
            "{{app_name}} öffnen",
            "",
            "",
        ),
    }
}

fn fr(kind: EmailKind) -> KindStrings {
    match kind {
        EmailKind::Signup => s(
            "Confirmez votre adresse e-mail pour {{app_name}}",
            "Un clic pour terminer la création de votre compte.",
            "Confirmez votre adresse e-mail",
            "Merci de votre inscription à {{app_name}}. Confirmez votre adresse e-mail pour terminer la création de votre compte.",
            "Confirmer l'adresse e-mail",
            "Ou saisissez ce code :",
            "Si vous n'avez pas créé de compte, vous pouvez ignorer cet e-mail.",
        ),
        EmailKind::Invite => s(
            "Vous êtes invité à rejoindre {{app_name}}",
            "Acceptez votre invitation pour commencer.",
            "Vous avez été invité",
            "Vous avez été invité à rejoindre {{app_name}}. Acceptez l'invitation pour configurer votre compte.",
            "Accepter l'invitation",
            "Ou saisissez ce code :",
            "Si vous n'attendiez pas d'invitation, vous pouvez ignorer cet e-mail.",
        ),
        EmailKind::Magiclink => s(
            "Votre lien de connexion à {{app_name}}",
            "Connectez-vous en un clic. Le lien ne sert qu'une fois.",
            "Connectez-vous à {{app_name}}",
            "Utilisez le bouton ci-dessous pour vous connecter. Le lien ne peut servir qu'une fois et expire bientôt.",
            "Se connecter",
            "Ou saisissez ce code :",
            "Si vous n'avez pas essayé de vous connecter, vous pouvez ignorer cet e-mail. Votre compte est en sécurité.",
        ),
        EmailKind::Recovery => s(
            "Réinitialisez votre mot de passe {{app_name}}",
            "Choisissez un nouveau mot de passe pour votre compte.",
            "Réinitialisez votre mot de passe",
            "Nous avons reçu une demande de réinitialisation du mot de passe de {{email}}.",
            "Réinitialiser le mot de passe",
            "Ou saisissez ce code :",
            "Si vous n'avez rien demandé, ignorez cet e-mail. Votre mot de passe ne changera pas.",
        ),
        EmailKind::EmailChange => s(
            "Confirmez votre nouvelle adresse e-mail pour {{app_name}}",
            "Confirmez le changement de votre adresse e-mail.",
            "Confirmez le changement d'adresse",
            "{{#if to_new_address}}Confirmez {{new_email}} comme nouvelle adresse e-mail de votre compte {{app_name}}.{{else}}Confirmez que vous souhaitez remplacer l'adresse e-mail de votre compte {{app_name}}, {{email}}, par {{new_email}}.{{/if}}",
            "Confirmer le changement",
            "Ou saisissez ce code :",
            "Si vous n'avez pas demandé ce changement, contactez immédiatement le support.",
        ),
        EmailKind::Reauthentication => s(
            "Votre code de vérification {{app_name}}",
            "Utilisez ce code pour confirmer votre identité.",
            "Confirmez votre identité",
            "Saisissez ce code pour poursuivre la modification que vous avez commencée.",
            "",
            "Votre code de vérification :",
            "Si vous n'avez pas demandé ce code, quelqu'un essaie peut-être de modifier votre compte. Pensez à changer votre mot de passe.",
        ),
        EmailKind::PasswordChangedNotification => s(
            "Votre mot de passe {{app_name}} a été modifié",
            "Votre mot de passe vient d'être modifié.",
            "Votre mot de passe a été modifié",
            "Le mot de passe de votre compte {{app_name}} {{email}} vient d'être modifié.",
            "",
            "",
            "Si ce n'était pas vous, réinitialisez votre mot de passe et contactez le support.",
        ),
        EmailKind::EmailChangedNotification => s(
            "Votre adresse e-mail {{app_name}} a été modifiée",
            "Votre compte utilise désormais une autre adresse e-mail.",
            "Votre adresse e-mail a été modifiée",
            "L'adresse e-mail de votre compte {{app_name}} est passée de {{old_email}} à {{email}}.",
            "",
            "",
            "Si ce n'était pas vous, contactez immédiatement le support.",
        ),
        EmailKind::PhoneChangedNotification => s(
            "Votre numéro de téléphone {{app_name}} a été modifié",
            "Votre compte utilise désormais un autre numéro.",
            "Votre numéro de téléphone a été modifié",
            "Le numéro de téléphone de votre compte {{app_name}} a été modifié{{#if old_phone}} (ancien numéro : {{old_phone}}){{/if}}.",
            "",
            "",
            "Si ce n'était pas vous, contactez immédiatement le support.",
        ),
        EmailKind::IdentityLinkedNotification => s(
            "Nouvelle méthode de connexion sur votre compte {{app_name}}",
            "Vous pouvez désormais vous connecter avec {{provider}}.",
            "Nouvelle méthode de connexion",
            "Vous pouvez désormais vous connecter à votre compte {{app_name}} avec {{provider}}.",
            "",
            "",
            "Si ce n'était pas vous, contactez immédiatement le support.",
        ),
        EmailKind::IdentityUnlinkedNotification => s(
            "Méthode de connexion retirée de votre compte {{app_name}}",
            "La connexion avec {{provider}} n'est plus possible.",
            "Méthode de connexion retirée",
            "Vous ne pouvez plus vous connecter à votre compte {{app_name}} avec {{provider}}.",
            "",
            "",
            "Si ce n'était pas vous, contactez immédiatement le support.",
        ),
        EmailKind::MfaFactorEnrolledNotification => s(
            "Authentification à deux facteurs ajoutée à votre compte {{app_name}}",
            "Un nouveau second facteur protège votre compte.",
            "Second facteur ajouté",
            "Un nouveau second facteur a été ajouté à votre compte {{app_name}} : {{factor}}.",
            "",
            "",
            "Si ce n'était pas vous, contactez immédiatement le support.",
        ),
        EmailKind::MfaFactorUnenrolledNotification => s(
            "Authentification à deux facteurs retirée de votre compte {{app_name}}",
            "Un second facteur a été retiré de votre compte.",
            "Second facteur retiré",
            "Un second facteur a été retiré de votre compte {{app_name}} : {{factor}}.",
            "",
            "",
            "Si ce n'était pas vous, contactez immédiatement le support.",
        ),
        EmailKind::Welcome => s(
            "Bienvenue sur {{app_name}}",
            "Votre compte est prêt.",
            "Bienvenue sur {{app_name}}",
            "Votre compte est prêt. Nous sommes ravis de vous compter parmi nous.",
            "Ouvrir {{app_name}}",
            "",
            "",
        ),
    }
}

/// The wording of `kind` in `locale` (English when unsupported).
pub(crate) fn kind_strings(locale: &str, kind: EmailKind) -> KindStrings {
    match locale {
        "de" => de(kind),
        "fr" => fr(kind),
        _ => en(kind),
    }
}

/// The shared wording in `locale`.
pub(crate) fn common(locale: &str) -> Common {
    match locale {
        "de" => DE_COMMON,
        "fr" => FR_COMMON,
        _ => EN_COMMON,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_preferences_resolve_to_supported_locales() {
        assert_eq!(locale_for("de-AT", "en"), "de");
        assert_eq!(locale_for("FR_ca", "en"), "fr");
        assert_eq!(locale_for("pt-BR", "de"), "de");
        assert_eq!(locale_for("", "xx"), "en");
    }

    #[test]
    fn every_kind_has_every_string_it_needs_in_every_locale() {
        for locale in LOCALES {
            for kind in EmailKind::ALL {
                let k = kind_strings(locale, kind);
                for (what, text) in [
                    ("subject", k.subject),
                    ("preheader", k.preheader),
                    ("heading", k.heading),
                    ("intro", k.intro),
                ] {
                    assert!(!text.is_empty(), "{locale} {kind} {what}");
                }
                assert_eq!(
                    !k.button.is_empty(),
                    kind.has_link() || kind == EmailKind::Welcome,
                    "{locale} {kind} button"
                );
                let has_code = !kind.is_notification() && kind != EmailKind::Welcome;
                assert_eq!(
                    !k.code_intro.is_empty(),
                    has_code,
                    "{locale} {kind} code_intro"
                );
                assert_eq!(
                    !k.outro.is_empty(),
                    kind != EmailKind::Welcome,
                    "{locale} {kind} outro"
                );
            }
        }
    }
}
