# « Résumé des nouveautés » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-annonces.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Résumé des nouveautés
description = Les dernières nouveautés des services, et les annonces
pref-max_items = Nombre de nouveautés affichées
# La source des annonces publiées dans ce bloc.
source-announcement = Annonce

## Les nouveautés et la publication

published = Annonce publiée.
none = Aucune nouveauté pour l’instant.
publish-heading = Publier une annonce
announcement-title = Titre de l’annonce
audience = Destinataires
audience-everyone = Tout le monde
audience-eleve = Les élèves
audience-parent = Les parents
audience-enseignant = Les enseignants
my-groups = Mes groupes
publish = Publier

## Le résumé par courriel (mode édition)

digest-on = C’est noté : vous recevrez le résumé des nouveautés par courriel.
digest-off = C’est noté : vous ne recevrez plus le résumé par courriel.
digest-legend = Résumé par courriel
digest-label = Recevoir le résumé par courriel
# Suivi de l’adresse de courriel.
digest-to = Il sera envoyé à
digest-no-mail = Aucune adresse de courriel n’est connue pour vous dans l’annuaire : le résumé ne pourra pas vous être envoyé.
digest-save = Enregistrer

## Erreurs ($value : la valeur reçue, entre guillemets)

error-digest-choice = choix de résumé inconnu : { $value }
error-group = ce groupe n’existe pas ou vous n’en faites pas partie
error-audience = destinataires inconnus : { $value }

## L’aide

help-title = Le résumé des nouveautés
help-news =
    Ce bloc rassemble les dernières nouveautés des services de l’ENT qui vous concernent :
    annonces de l’établissement, devoirs, messages… Les plus récentes sont en haut ; les
    heures sont données en temps universel (UTC).
help-publish =
    Les enseignants et les personnels peuvent publier une annonce pour tout le monde, pour
    les élèves, pour les parents, pour les enseignants ou pour un de leurs groupes.
help-digest =
    Dans les préférences du bloc, cochez « Recevoir le résumé par courriel » pour recevoir
    un courriel qui liste les nouveautés publiées pour vous depuis le précédent.
