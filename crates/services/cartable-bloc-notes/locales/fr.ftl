# « Bloc-notes » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-bloc-notes.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Bloc-notes
description = Vos notes personnelles
pref-max_notes = Nombre de notes affichées
new-note = Nouvelle note
# $max : la longueur d’une note au plus.
max-help = { $max } caractères au plus.
add = Ajouter
my-notes = Mes notes
delete = Supprimer
# $count : le nombre de notes (plus que celles affichées).
show-all = Voir les { $count } notes
export = Exporter mes notes (JSON)
none = Aucune note pour l’instant.

## Erreurs

# $max : le nombre de notes d’un utilisateur au plus.
error-too-many = vous avez déjà { $max } notes ; supprimez-en d’abord
error-bad-id = numéro de note invalide
error-not-found = cette note n’existe plus

## L’aide

help-title = Le bloc-notes
# $max : la longueur d’une note au plus.
help-intro =
    Notez ici ce que vous ne voulez pas oublier : vos notes ne sont visibles que par vous.
    Une note fait au plus { $max } caractères.
help-use =
    Les notes les plus récentes sont en haut. Dans « Préférences », choisissez combien en
    afficher ; agrandissez le bloc pour les voir toutes. Le lien « Exporter » télécharge vos
    notes dans un fichier JSON.

## Mes données (export et import des notes)

import-bad-date = date de création illisible (attendue au format RFC 3339, 2024-02-29T23:30:05Z)
import-duplicate = cette note est déjà dans votre bloc-notes
# The type of the notes in the ENT-wide search.
search-kind-note = Note du bloc-notes
