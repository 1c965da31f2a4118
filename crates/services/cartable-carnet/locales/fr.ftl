# « Carnet d’adresses » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-carnet.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Carnet d’adresses
description = Vos contacts et ceux de vos groupes, échangés avec vos applications (vCard, LDIF)
group-tool = Carnet d’adresses du groupe
books = Carnets d’adresses
my-book = Mon carnet
group-book = Carnet « { $group } »
all-books = Tout
shared-with-me = Partagés avec moi
saved = Modification enregistrée.

## Liste

col-name = Nom
col-book = Carnet
from-directory = annuaire
gone = n’apparaît plus dans l’annuaire
empty-book = Ce carnet est vide.
none-shared = Personne ne vous a encore partagé de contact.
new-contact = Ajouter un contact
search-directory = Ajouter une personne de l’annuaire
search = Rechercher
found = { $n ->
    [0] Personne de l’annuaire ne correspond à « { $text } ».
    [one] Une personne correspond à « { $text } ».
   *[other] { $n } personnes correspondent à « { $text } ».
}
already-added = déjà dans ce carnet
add = Ajouter
back = Retour au carnet
cancel = Annuler
save = Enregistrer
consolidate = Carnets des groupes montrés dans « Tout »

## Champs

field-nom = Nom
field-prenom = Prénom
field-fonction = Fonction
field-institution = Institution
field-adresse = Adresse professionnelle
field-telephone = Téléphone
field-courriel = Courriel
field-note = Note

## Fiche

person-help = Cette personne vient de l’annuaire : ses coordonnées sont celles de l’annuaire, telles que vous pouvez les voir, et suivent ses changements.
gone-help = Cette personne n’apparaît plus dans l’annuaire pour vous : seul son nom est gardé.
sharing = Partage
not-shared = Ce contact n’est partagé avec personne.
shared-group = le groupe « { $group } »
shared-user = { $user }
share-group = Partager avec un groupe
share-user = Partager avec un usager (son identifiant)
share = Partager
unshare = Ne plus partager
copy = Copier
copy-to = Copier ce contact dans le carnet
delete = Supprimer ce contact
delete-question = Supprimer « { $name } » de ce carnet ?
confirm-delete = Oui, supprimer

## Import et export

import-export = Importer, exporter
export-vcard4 = Exporter en vCard 4.0 (.vcf)
export-vcard3 = Exporter en vCard 3.0 (.vcf, anciens téléphones et logiciels)
export-ldif = Exporter en LDIF (.ldif, Thunderbird)
import-file = Fichier à importer (vCard ou LDIF)
import-help = Un export de Thunderbird, Google Contacts, Outlook ou d’un téléphone ; 30 Mo au plus. Les photos ne sont pas gardées.
import = Importer
import-summary = Import : { $kept } contact(s) ajouté(s), { $duplicates } déjà présent(s), { $invalid } illisible(s) ou refusé(s), { $full } au-delà de la capacité du carnet.
import-photos = { $n } photo(s) non gardée(s).
import-legacy = Le fichier n’était pas en UTF-8 : il a été lu en { $encoding }.
import-more = { $n } contact(s) au-delà de la capacité du carnet n’ont pas été lus.
import-duplicate = déjà dans le carnet
import-not-card = ce n’est pas une fiche de contact
import-too-deep = fichier trop imbriqué : la suite n’a pas été lue
import-bad-card = fiche illisible
import-ldif-change = enregistrement de modification LDIF ignoré
import-ldif-not-person = enregistrement LDIF sans nom ni courriel ignoré
import-unknown-file = fichier inconnu de ce service
import-bad-shares = fichier des partages illisible : { $error }
import-share-no-entry = le contact partagé n’est pas dans le carnet

## Erreurs

error-not-found = Ce contact ou ce carnet n’existe pas, ou vous n’y avez pas accès.
error-bad-id = Numéro de contact invalide.
error-format = Format d’export inconnu : vcard4, vcard3 ou ldif.
error-empty = Un contact a besoin d’un nom ou d’un courriel.
error-too-long = Un champ est trop long :
error-email = Ce n’est pas une adresse de courriel :
error-full = Ce carnet est plein ({ $max } contacts) : supprimez-en avant d’en ajouter.
error-person-unknown = Cette personne n’est pas dans l’annuaire, ou vous ne pouvez pas la voir.
error-share-target = Cet usager n’existe pas, ou ce groupe n’est pas le vôtre.
error-no-file = Choisissez un fichier à importer.
error-file-too-large = Le fichier fait { $size } Mo, plus que les { $max } Mo qu’un import lit : découpez-le, ou exportez-le sans les photos.
error-not-address-book = Ce fichier n’est ni un carnet vCard (.vcf) ni un carnet LDIF (.ldif) : rien n’a été importé.

## Aide

help-title = Le carnet d’adresses
help-intro = Votre carnet est à vous seul. Ajoutez-y des contacts, ou des personnes de l’annuaire de l’établissement.
help-directory = Pour une personne de l’annuaire, le carnet ne copie rien : il montre ce que l’annuaire vous laisse voir d’elle, jamais ce qu’elle a choisi de cacher, et suit ses changements.
help-groups = Chaque groupe qui a l’outil a son carnet, lu par ses membres et tenu par ses contributeurs. « Tout » réunit le vôtre et ceux des groupes que vous choisissez. Un contact de votre carnet se partage, en lecture, avec un usager ou un groupe.
help-files = Importez et exportez en vCard 3.0 ou 4.0 et en LDIF : Thunderbird, Google Contacts, Outlook et les téléphones les lisent.

## Synchronisation (CardDAV)

dav-read-only = Vous lisez ce carnet sans pouvoir le modifier.
dav-bad-name = Nom de fiche invalide : lettres, chiffres, « - », « _ » et « . » seulement.
dav-too-large = Fiche trop grande (plus de { $max } Kio) : le carnet ne garde pas les photos, envoyez-la sans.
dav-not-vcard = Ce n’est pas une fiche vCard (BEGIN:VCARD … END:VCARD).
dav-stale = La fiche a changé depuis votre dernière synchronisation : synchronisez à nouveau avant de la modifier.
dav-person = Cette personne vient de l’annuaire : ses coordonnées se changent dans l’annuaire, pas dans le carnet.
dav-uid-conflict = Une autre fiche de ce carnet a déjà cet UID.

## Recherche de l’ENT

search-kind-contact = Contact
