# « Résumé des nouveautés » et annonces : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-annonces.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Résumé des nouveautés
description = Les dernières nouveautés des services, et les annonces de l’établissement
pref-max_items = Nombre de nouveautés affichées
# La source des annonces dans la liste des nouveautés.
source-announcement = Annonce
pinned = Épinglée

## Le bloc de la page d’accueil

none = Aucune nouveauté pour l’instant.
all-announcements = Toutes les annonces

## La liste des annonces (bloc agrandi)

list-heading = Annonces
no-announcements = Aucune annonce à afficher.
# Suivi des destinataires : « pour les élèves ».
for = pour
edit = Modifier
delete = Supprimer
status-scheduled = pas encore affichée
status-ended = plus affichée
period-from-until = du { $from } au { $until }
period-from = depuis le { $from }
done-published = Annonce publiée.
done-updated = Annonce modifiée.
done-deleted = Annonce supprimée.
done-feed-new = Votre adresse de flux est prête ; l’ancienne, s’il y en avait une, ne fonctionne plus.
done-feed-revoked = Votre adresse de flux est révoquée : elle ne fonctionne plus.

## Le formulaire

publish-heading = Publier une annonce
edit-heading = Modifier l’annonce
announcement-title = Titre de l’annonce
announcement-body = Texte de l’annonce (facultatif)
body-help = Texte simple, { $max } caractères au plus ; une ligne vide sépare deux paragraphes.
audience = Destinataires
audience-all = Tout l’établissement
audience-eleve = Les élèves
audience-parent = Les parents
audience-enseignant = Les enseignants
audience-personnel = Les personnels
audience-admin = Les administrateurs
audience-class = la classe { $class }
audience-a-group = un groupe
audience-people = des personnes désignées
audience-other-class = Une autre classe (à indiquer ci-dessous)
my-classes = Mes classes
my-groups = Mes groupes
class-code = Autre classe
class-code-help = Le code de la classe dans l’annuaire, par exemple 2nde-3.
period = Période d’affichage
shown-from = Afficher à partir du
shown-until = Jusqu’au (inclus)
shown-until-help = Laisser vide pour une annonce sans fin.
pin = Épingler l’annonce en tête de liste
publish = Publier
save = Enregistrer
cancel = Annuler

## Le flux RSS privé

feed-heading = Mon flux RSS privé
feed-intro = Abonnez votre lecteur de flux à cette adresse pour y lire les annonces qui vous sont destinées :
feed-secret = Cette adresse est personnelle : qui la connaît lit vos annonces. Révoquez-la si vous l’avez partagée.
feed-new = Changer d’adresse
feed-revoke = Révoquer l’adresse
feed-none = Un lecteur de flux (RSS) peut suivre les annonces qui vous sont destinées, à une adresse personnelle.
feed-create = Créer mon adresse de flux
feed-title = Annonces – { $name }
feed-description = Les annonces de l’établissement qui vous sont destinées.

## La recherche

search-kind = Annonce

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
error-class = vous ne pouvez pas publier pour la classe { $value }
error-class-empty = indiquez le code de la classe
error-date = la date doit être de la forme 2026-12-07 (ou 07/12/2026)
error-until-before = la fin de l’affichage précède son début
error-pinned = valeur inconnue pour « épingler »
error-bad-id = numéro d’annonce illisible
error-not-found = vous n’avez pas d’annonce avec ce numéro

## Mes données

import-not-publisher = vous ne pouvez pas publier d’annonces dans cet établissement
import-bad-date = date illisible ou période vide
import-audience = destinataires que vous ne pouvez pas viser ici (un groupe d’un autre établissement, une classe qui n’est pas la vôtre…)
import-duplicate = cette annonce est déjà là

## L’aide

help-title = Le résumé des nouveautés et les annonces
help-news =
    Ce bloc rassemble les dernières nouveautés des services de l’ENT qui vous concernent :
    annonces de l’établissement, devoirs, messages… Les annonces épinglées viennent en
    premier, puis les plus récentes ; les heures sont données en temps universel (UTC).
    « Toutes les annonces » les affiche en entier.
help-publish =
    Les enseignants et les personnels publient une annonce pour tout l’établissement, un
    profil, une de leurs classes ou un de leurs groupes, pour une période : en dehors de
    celle-ci, seul son auteur la voit. L’auteur la modifie ou la supprime.
help-feed =
    Votre lecteur de flux (RSS) peut suivre les annonces qui vous sont destinées à une
    adresse personnelle, créée et révoquée dans ce bloc.
help-digest =
    Dans les préférences du bloc, cochez « Recevoir le résumé par courriel » pour recevoir
    un courriel qui liste les nouveautés publiées pour vous depuis le précédent.
