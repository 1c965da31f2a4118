//! The portal's own words, in French first and English.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// `(key, French, English)` for every string of the portal chrome.
const STRINGS: &[(&str, &str, &str)] = &[
    ("skip", "Aller au contenu", "Skip to content"),
    (
        "err_conflict",
        "Modification concurrente",
        "Conflicting change",
    ),
    (
        "err_conflict_msg",
        "Cette page a été modifiée ailleurs (un autre onglet ou un autre appareil) depuis que vous l’avez ouverte. Rien n’a été enregistré : rechargez la page et recommencez.",
        "This page was changed elsewhere (another tab or device) since you opened it. Nothing was saved: reload the page and try again.",
    ),
    (
        "cas_unknown_service",
        "Ce service n’est pas enregistré auprès de l’ENT : la connexion unique ne peut pas vous y conduire. Vérifiez le lien ou adressez-vous à l’établissement.",
        "This service is not registered with the ENT, so single sign-on cannot take you there. Check the link or contact the school.",
    ),
    (
        "cas_bad_ticket",
        "Le retour du serveur d’authentification est incomplet. Reconnectez-vous.",
        "The answer from the login server is incomplete. Please log in again.",
    ),
    (
        "cas_refused",
        "Le serveur d’authentification n’a pas confirmé votre connexion. Reconnectez-vous.",
        "The login server did not confirm your login. Please log in again.",
    ),
    (
        "cas_unknown_user",
        "Votre compte académique n’est pas encore connu de cet ENT. Adressez-vous à l’établissement.",
        "Your academic account is not known to this ENT yet. Please contact the school.",
    ),
    ("tabs", "Onglets", "Tabs"),
    ("logout", "Se déconnecter", "Log out"),
    ("other_lang", "en", "fr"),
    ("other_lang_name", "English", "Français"),
    (
        "powered",
        "ENT propulsé par Cartable",
        "ENT powered by Cartable",
    ),
    ("customize", "Personnaliser la page", "Customize the page"),
    ("admin", "Administration", "Administration"),
    ("help", "Aide", "Help"),
    ("edit", "Préférences", "Preferences"),
    ("back", "Retour", "Back"),
    ("maximize", "Agrandir", "Maximize"),
    ("restore", "Restaurer", "Restore"),
    ("minimize", "Réduire", "Minimize"),
    ("retry", "Réessayer", "Try again"),
    ("login_title", "Connexion à l’ENT", "Log in to the ENT"),
    ("login_field", "Identifiant", "Login"),
    ("password_field", "Mot de passe", "Password"),
    ("login_button", "Se connecter", "Log in"),
    (
        "bad_credentials",
        "Identifiant ou mot de passe incorrect.",
        "Wrong login or password.",
    ),
    (
        "account_disabled",
        "Ce compte est désactivé. Adressez-vous à l’établissement.",
        "This account is deactivated. Please contact the school.",
    ),
    (
        "throttled",
        "Trop de tentatives de connexion pour ce compte. Patientez un moment avant de réessayer.",
        "Too many login attempts for this account. Wait a moment before trying again.",
    ),
    (
        "directory_down",
        "L’annuaire est momentanément indisponible. Réessayez dans un instant.",
        "The directory is unavailable for the moment. Try again shortly.",
    ),
    ("home", "Retour à l’accueil", "Back to the home page"),
    (
        "err_timeout",
        "Ce service met trop de temps à répondre.",
        "This service is taking too long to answer.",
    ),
    (
        "err_failed",
        "Ce service a rencontré une erreur.",
        "This service ran into an error.",
    ),
    (
        "err_quarantine",
        "Ce service est momentanément suspendu après plusieurs lenteurs ; il sera rappelé sous peu.",
        "This service is suspended for a moment after repeated delays; it will be called again shortly.",
    ),
    (
        "err_maintenance",
        "Service en maintenance",
        "Service under maintenance",
    ),
    ("err_not_found", "Page introuvable", "Page not found"),
    (
        "err_not_found_msg",
        "Cette adresse ne correspond à aucune page de l’ENT.",
        "This address matches no page of the ENT.",
    ),
    ("err_forbidden", "Accès refusé", "Access denied"),
    (
        "err_forbidden_msg",
        "Vous n’avez pas accès à ce service, ou le formulaire a expiré : rechargez la page et recommencez.",
        "You do not have access to this service, or the form expired: reload the page and try again.",
    ),
    ("err_bad_request", "Demande invalide", "Invalid request"),
    (
        "err_unavailable",
        "Service indisponible",
        "Service unavailable",
    ),
    (
        "err_unavailable_msg",
        "Un service du socle ne répond pas. Réessayez dans un instant.",
        "A core service is not answering. Try again shortly.",
    ),
    ("err_internal", "Erreur interne", "Internal error"),
    (
        "err_internal_msg",
        "Une erreur interne est survenue ; elle a été consignée.",
        "An internal error occurred; it has been logged.",
    ),
    ("err_too_many", "Trop de tentatives", "Too many attempts"),
    ("back_to_page", "Revenir à la page", "Back to the page"),
    (
        "windows_on_tab",
        "Fenêtres de l’onglet",
        "Windows on this tab",
    ),
    ("column", "Colonne", "Column"),
    ("locked", "fixée par l’établissement", "set by the school"),
    ("empty_column", "Colonne vide.", "Empty column."),
    ("catalogue", "Ajouter un service", "Add a service"),
    (
        "catalogue_empty",
        "Tous les services disponibles sont déjà sur la page.",
        "Every available service is already on the page.",
    ),
    ("add", "Ajouter", "Add"),
    ("remove", "Retirer", "Remove"),
    ("move_up", "Monter", "Move up"),
    ("move_down", "Descendre", "Move down"),
    ("move_left", "Vers la gauche", "Move left"),
    ("move_right", "Vers la droite", "Move right"),
    (
        "reset_layout",
        "Revenir à la page par défaut",
        "Back to the default page",
    ),
    (
        "layout_heading",
        "Personnaliser l’onglet",
        "Customize the tab",
    ),
    (
        "layout_saved",
        "La page a été modifiée.",
        "The page was changed.",
    ),
    ("portlet_status", "État des services", "Service status"),
    ("portlet", "Service", "Service"),
    ("status", "État", "Status"),
    ("maintenance", "Maintenance", "Maintenance"),
    (
        "maintenance_message",
        "Message de maintenance",
        "Maintenance message",
    ),
    (
        "maintenance_help",
        "Un message non vide met le service en maintenance ; un message vide l’en sort.",
        "A non-empty message puts the service under maintenance; an empty one ends it.",
    ),
    ("save", "Enregistrer", "Save"),
    ("status_ok", "En service", "Running"),
    (
        "status_quarantined",
        "Suspendu (lenteurs répétées)",
        "Suspended (repeated delays)",
    ),
    ("status_maintenance", "En maintenance", "Under maintenance"),
    ("saved", "Modification enregistrée.", "Change saved."),
    ("account", "Mon compte", "My account"),
    ("password_heading", "Mot de passe", "Password"),
    ("password_old", "Mot de passe actuel", "Current password"),
    ("password_new", "Nouveau mot de passe", "New password"),
    (
        "password_confirm",
        "Confirmez le nouveau mot de passe",
        "Confirm the new password",
    ),
    (
        "password_change",
        "Changer le mot de passe",
        "Change the password",
    ),
    (
        "password_changed",
        "Votre mot de passe a été changé.",
        "Your password was changed.",
    ),
    (
        "password_mismatch",
        "Les deux nouveaux mots de passe diffèrent.",
        "The two new passwords differ.",
    ),
    (
        "password_wrong_old",
        "Le mot de passe actuel est incorrect.",
        "The current password is wrong.",
    ),
    (
        "password_readonly",
        "Les mots de passe se changent dans l’annuaire de l’académie, pas ici.",
        "Passwords are changed in the académie's directory, not here.",
    ),
    (
        "password_rules",
        "Au moins {n} caractères, dont {c} types parmi : minuscules, majuscules, chiffres, autres ; sans votre identifiant.",
        "At least {n} characters, with {c} kinds among: lower case, upper case, digits, others; without your login.",
    ),
    (
        "password_refused",
        "Mot de passe refusé",
        "Password refused",
    ),
    (
        "password_reset",
        "Régénérer un mot de passe",
        "Regenerate a password",
    ),
    ("password_reset_button", "Régénérer", "Regenerate"),
    (
        "password_reset_done",
        "Nouveau mot de passe (à transmettre, il ne sera plus affiché) pour",
        "New password (hand it over, it will not be shown again) for",
    ),
    ("delegations", "Délégations", "Delegations"),
    (
        "delegations_received",
        "Rôles qui vous sont délégués",
        "Roles delegated to you",
    ),
    (
        "delegations_given",
        "Rôles que vous avez délégués",
        "Roles you delegated",
    ),
    ("delegations_none", "Aucune délégation.", "No delegation."),
    ("delegate_new", "Déléguer un rôle", "Delegate a role"),
    (
        "delegate_to",
        "Identifiant de la personne",
        "Login of the person",
    ),
    ("delegate_role", "Rôle", "Role"),
    ("delegate_button", "Déléguer", "Delegate"),
    (
        "delegation_rules",
        "Au plus {n} jours ; la délégation prend fin d’elle-même.",
        "At most {n} days; the delegation ends by itself.",
    ),
    (
        "delegation_done",
        "La délégation est enregistrée.",
        "The delegation is recorded.",
    ),
    ("revoke", "Mettre fin", "End"),
    ("from", "de", "from"),
    ("to", "à", "to"),
    ("until", "jusqu’au", "until"),
    ("until_date", "Jusqu’au (date)", "Until (date)"),
    ("groups", "Mes groupes", "My groups"),
    (
        "groups_none",
        "Vous n’appartenez à aucun groupe.",
        "You belong to no group.",
    ),
    ("group_new", "Créer un groupe", "Create a group"),
    ("group_name", "Nom du groupe", "Group name"),
    (
        "group_members",
        "Membres (identifiants)",
        "Members (logins)",
    ),
    (
        "group_members_help",
        "Séparez les identifiants par des virgules ou des espaces.",
        "Separate logins with commas or spaces.",
    ),
    ("group_create", "Créer le groupe", "Create the group"),
    (
        "group_unknown_members",
        "Identifiants inconnus de l’annuaire :",
        "Logins not in the directory:",
    ),
    (
        "bad_date",
        "Date invalide : utilisez le format AAAA-MM-JJ.",
        "Invalid date: use the YYYY-MM-DD format.",
    ),
    (
        "accounts_ending",
        "Comptes désactivés ou à supprimer",
        "Deactivated accounts and accounts to delete",
    ),
    (
        "accounts_none",
        "Aucun compte désactivé.",
        "No deactivated account.",
    ),
    (
        "status_deactivated",
        "Désactivé (période de grâce)",
        "Deactivated (grace period)",
    ),
    (
        "status_delete",
        "À supprimer de l’annuaire",
        "To delete from the directory",
    ),
    (
        "purge",
        "Supprimer ses données de l’ENT",
        "Delete their data from the ENT",
    ),
    (
        "purge_help",
        "La suppression efface les préférences, la page, les données des services et les sessions du compte ; l’entrée de l’annuaire se supprime dans l’annuaire de référence.",
        "Deletion erases the account's preferences, page, service data and sessions; the directory entry is deleted in the reference directory.",
    ),
];

static FR: LazyLock<BTreeMap<&'static str, &'static str>> =
    LazyLock::new(|| STRINGS.iter().map(|(k, fr, _)| (*k, *fr)).collect());
static EN: LazyLock<BTreeMap<&'static str, &'static str>> =
    LazyLock::new(|| STRINGS.iter().map(|(k, _, en)| (*k, *en)).collect());

/// A supported page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// French, the default.
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// From a session value or URL segment; anything unknown is French.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.starts_with("en") {
            Lang::En
        } else {
            Lang::Fr
        }
    }

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// Every string of the chrome in this language.
    pub fn strings(self) -> &'static BTreeMap<&'static str, &'static str> {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }

    /// Every string as one template value, built once per language (templates read
    /// `t.key`; building the map on each page was a good part of a page's cost).
    pub fn strings_value(self) -> minijinja::Value {
        static VALUES: LazyLock<[minijinja::Value; 2]> = LazyLock::new(|| {
            [
                minijinja::Value::from_pairs(FR.iter().map(|(k, v)| (*k, *v))),
                minijinja::Value::from_pairs(EN.iter().map(|(k, v)| (*k, *v))),
            ]
        });
        match self {
            Lang::Fr => VALUES[0].clone(),
            Lang::En => VALUES[1].clone(),
        }
    }

    /// One string (the key itself when missing, so a gap shows instead of breaking).
    pub fn t(self, key: &'static str) -> &'static str {
        self.strings().get(key).copied().unwrap_or(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_translated() {
        assert_eq!(FR.len(), STRINGS.len(), "duplicate key in STRINGS");
        assert_eq!(Lang::En.t("logout"), "Log out");
        assert_eq!(Lang::from_tag("de").t("logout"), "Se déconnecter");
    }
}
