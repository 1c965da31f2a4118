//! The portal's own words, in French first and English.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// `(key, French, English)` for every string of the portal chrome.
const STRINGS: &[(&str, &str, &str)] = &[
    ("skip", "Aller au contenu", "Skip to content"),
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
        "Trop de tentatives de connexion. Réessayez dans quelques minutes.",
        "Too many login attempts. Try again in a few minutes.",
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
