# « Liens utiles » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-signets.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Liens utiles
description = Les liens de l’établissement et les vôtres, rangés en dossiers et partagés
pref-links = Liens de l’établissement (une ligne « Titre|https://… » par lien)
school-links = Liens de l’établissement
my-links = Mes liens
remove = Retirer
none = Vous n’avez pas encore ajouté de lien ici.
link-title = Titre du lien
link-url = Adresse
link-url-help = Une adresse web commençant par https:// ou http://.
add = Ajouter le lien

## Dossiers, ordre, modification

folder-path = Chemin du dossier
folder = Dossier
empty-folder = Ce dossier est vide.
move-up = Monter
move-down = Descendre
edit = Modifier
new-folder = Nouveau dossier
create-folder = Créer le dossier
edit-link = Modifier le lien
edit-folder = Modifier le dossier
folder-name = Nom du dossier
parent = Dans le dossier
top-level = Mes liens (premier niveau)
save = Enregistrer
cancel = Annuler
back = Retour à mes liens
delete-link = Supprimer ce lien
delete-folder = Supprimer ce dossier
# $title : le titre du lien ; $url : son adresse.
confirm-delete-link = Supprimer le lien « { $title } » ({ $url }) ?
# $name : le nom du dossier ; $links, $folders : ce qu’il contient.
confirm-delete-folder = Supprimer le dossier « { $name } » et tout ce qu’il contient ({ $links } liens, { $folders } dossiers) ?
confirm-delete = Supprimer
untitled-folder = Sans nom

## Partage

sharing = Partage
shared-with = Partagé en lecture seule avec :
not-shared = Ce dossier n’est partagé avec personne.
unshare = Ne plus partager
share-group = Partager avec un de mes groupes
share-user = Partager avec une personne (son identifiant)
share-user-help = L’identifiant de connexion de la personne, par exemple « lmartin ». Elle verra ce dossier et son contenu, sans pouvoir le modifier.
share = Partager
shared-with-me = Partagés avec moi
# $name : la personne qui partage.
shared-by = partagé par { $name }
# $name : le nom du groupe.
group-label = groupe { $name }
export-shared = Exporter ce dossier (fichier de signets HTML)

## Import et export

import-export = Importer ou exporter
export = Exporter mes signets (fichier HTML)
export-help = Le fichier s’importe dans Firefox, Chrome et Edge, avec ses dossiers.
import-file = Fichier de signets (HTML exporté par Firefox, Chrome ou Edge)
import = Importer
# $links, $folders, $skipped : ce que l’import a fait.
imported = Import terminé : { $links } liens et { $folders } dossiers ajoutés ; { $skipped } éléments ignorés (adresses qui ne sont pas des pages web, ou déjà présentes).

## Recherche

search-kind = Signet

## Erreurs

error-url = l’adresse doit être une adresse web complète commençant par https:// ou http://
# $max : le nombre de liens qu’un utilisateur peut garder.
error-too-many = vous avez déjà { $max } liens ; retirez-en d’abord
# $max : le nombre de dossiers qu’un utilisateur peut garder.
error-too-many-folders = vous avez déjà { $max } dossiers ; supprimez-en d’abord
error-bad-id = numéro de lien ou de dossier invalide
error-not-found = ce lien ou ce dossier n’existe plus (ou ne vous est pas partagé)
# $max : la longueur la plus grande.
error-folder-name = le nom du dossier doit compter de 1 à { $max } caractères
error-folder-loop = un dossier ne peut pas aller dans lui-même ni dans un de ses sous-dossiers
error-confirm = ce dossier n’est pas vide : confirmez sa suppression
error-share-group = vous ne pouvez partager qu’avec un groupe dont vous faites partie
error-share-self = ce dossier est déjà le vôtre
# $login : l’identifiant saisi.
error-share-user = personne ne porte l’identifiant « { $login } » dans l’annuaire
error-no-file = choisissez un fichier de signets à importer
# $max : la taille la plus grande, en Mio.
error-file-too-large = ce fichier dépasse { $max } Mio ; rien n’a été importé

## Mes données (export et import des signets)

import-unknown-file = fichier inconnu des signets (seuls bookmarks.html et shares.json sont lus)
import-not-bookmarks = ce fichier n’est pas un fichier de signets au format Netscape (celui de Firefox, Chrome et Edge) ; rien n’a été importé
import-no-list = ce fichier de signets est abîmé : il ne contient aucune liste de signets (<DL>) ; rien n’a été importé
# $links, $folders : ce que le fichier ajouterait ; $max, $max_folders : les limites ; $kept, $kept_folders : ce qu’il y a déjà.
import-too-many = ce fichier ajouterait { $links } liens et { $folders } dossiers : vous pouvez garder au plus { $max } liens et { $max_folders } dossiers (vous en avez { $kept } et { $kept_folders }). Rien n’a été importé.
import-duplicate = ce lien est déjà dans vos signets
import-folder-merged = ce dossier existe déjà : ce qu’il contient y est ajouté
import-no-url = signet sans adresse
# $error : ce que le lecteur JSON a trouvé.
import-bad-shares = le fichier des partages est illisible ({ $error })
import-share-no-folder = le dossier de ce partage n’a pas été importé
import-share-unknown = cette personne ou ce groupe n’existe pas ici (ou vous n’êtes pas dans ce groupe)

## L’aide de cette fenêtre

help-title = Les liens utiles
help-intro = En haut, les liens choisis par l’établissement ; en dessous, les vôtres, que vous seul voyez tant que vous ne les partagez pas.
help-folders = Rangez vos liens en dossiers : créez-en un, déplacez un lien ou un dossier vers le haut ou le bas, modifiez ou supprimez-le (une suppression qui perd des liens demande confirmation).
help-share = Un dossier se partage en lecture seule avec des personnes ou vos groupes : ils le voient parmi les dossiers partagés avec eux, sans pouvoir le modifier.
help-files = Vos liens s’exportent au format « Netscape » que lisent Firefox, Chrome et Edge, et s’importent depuis ces navigateurs avec leurs dossiers.
