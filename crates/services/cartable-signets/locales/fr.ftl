# « Liens utiles » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-signets.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Liens utiles
description = Les liens de l’établissement et les vôtres
pref-links = Liens de l’établissement (une ligne « Titre|https://… » par lien)
school-links = Liens de l’établissement
my-links = Mes liens
remove = Retirer
none = Vous n’avez pas encore ajouté de lien.
link-title = Titre du lien
link-url = Adresse
link-url-help = Une adresse web commençant par https:// ou http://.
add = Ajouter le lien

## Erreurs

error-url = l’adresse doit être une adresse web complète commençant par https:// ou http://
# $max : le nombre de liens qu’un utilisateur peut ajouter.
error-too-many = vous avez déjà { $max } liens ; retirez-en d’abord
error-bad-id = numéro de lien invalide
error-not-found = ce lien n’existe plus

## Mes données (export et import des signets)

import-unknown-file = fichier inconnu des signets (seul bookmarks.html est lu)
import-not-bookmarks = ce fichier n’est pas un fichier de signets au format Netscape (celui de Firefox, Chrome et Edge)
import-duplicate = ce lien est déjà dans vos signets
import-no-url = signet sans adresse
