# « Aide » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-aide.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Aide et assistance
description = L’aide de l’ENT, un didacticiel pour chaque profil, et le signalement des problèmes
nav-label = Aide et assistance
nav-help = Aide
nav-report = Signaler un problème
nav-mine = Mes signalements
nav-queue = Incidents signalés
nav-edit = Modifier l’aide

## L’aide et les didacticiels

help-heading = L’aide de l’ENT
# $profile : le nom d’un profil (Élève, Parent…).
tutorial-heading = Premiers pas : { $profile }
other-language = Ce texte n’est pas encore traduit dans votre langue ; le voici dans l’autre.
contextual-heading = L’aide de chaque service
contextual = Chaque fenêtre de l’ENT a son propre lien « Aide » dans sa barre de titre : il explique ce service et ce que vous pouvez y faire.
report-invite = Quelque chose ne marche pas ? Le lien « Signaler un problème », en bas de chaque page, envoie votre message aux administrateurs de l’ENT ; vous suivez sa réponse dans « Mes signalements ».

default-portail-1 = L’ENT rassemble vos services numériques derrière un seul identifiant : les onglets en haut de la page mènent à vos pages, chaque fenêtre est un service.
default-portail-2 = « Personnaliser la page » ajoute, retire ou déplace des fenêtres ; « Mon compte », sous votre nom, change votre mot de passe et vous permet de récupérer toutes vos données.
default-portail-3 = Votre navigateur agrandit le texte (Ctrl et +) et tout se fait au clavier : la touche Tab passe d’un lien ou d’un bouton au suivant, le premier lien mène directement au contenu.
default-eleve-1 = Sur l’onglet Accueil, retrouvez les nouveautés de l’établissement et votre bloc-notes.
default-eleve-2 = Vos notes et vos liens ne sont visibles que par vous. L’annuaire vous montre les personnes de l’établissement.
default-parent-1 = L’ENT vous donne les nouveautés de l’établissement et l’annuaire des personnels.
default-parent-2 = « Mon compte » vous permet de changer votre mot de passe et de récupérer vos données.
default-enseignant-1 = Publiez une annonce pour une classe, un profil ou l’un de vos groupes depuis la fenêtre « Nouveautés ».
default-enseignant-2 = Créez des groupes de travail dans « Mon compte » et déléguez un rôle pour une période.
default-personnel-1 = Vous publiez des annonces, suivez les incidents signalés et modifiez cette aide pour tous les profils, en français et en anglais.
default-personnel-2 = « Incidents signalés » liste les problèmes signalés : attribuez-les, changez leur état et répondez ; chaque changement est notifié à la personne qui l’a signalé.
default-invite-1 = Votre accès est limité à quelques services ; adressez-vous à l’établissement pour en obtenir davantage.
default-admin-1 = La page Administration montre l’état des services, les indicateurs d’usage et les comptes échus ; vous modifiez aussi cette aide et traitez les incidents.

## Modifier l’aide

edit-heading = Modifier l’aide
edit-intro = Rédigez l’aide de l’ENT et le didacticiel de chaque profil, en français et en anglais. Un lecteur voit le texte de sa langue, ou à défaut celui de l’autre ; sans texte, il voit l’aide fournie avec l’ENT.
edit-topic = Texte
edit-lang = Langue
edit-state = État
edit-custom = rédigé par l’établissement
edit-default = aide fournie avec l’ENT
edit-link = Modifier « { $topic } » ({ $lang })
topic-portail = Aide de l’ENT
lang-fr = français
lang-en = anglais
# $topic : le texte (Aide de l’ENT, Premiers pas : Élève…) ; $lang : la langue.
edit-form-heading = { $topic } ({ $lang })
edit-body = Texte
edit-syntax = Une ligne vide sépare deux paragraphes ; « - » en début de ligne fait une liste, « ## » un intertitre, **gras**, [texte du lien](https://…). Le HTML est affiché tel quel. Laissez vide pour revenir à l’aide fournie avec l’ENT.
edit-save = Enregistrer le texte
edit-saved = Le texte est enregistré.
edit-back = Revenir à la liste des textes

## Signaler un problème

report-heading = Signaler un problème
report-intro = Décrivez ce que vous faisiez et ce qui s’est passé. Les administrateurs de l’ENT reçoivent votre message ; vous êtes prévenu de chaque changement dans « Nouveautés ».
report-from-page = Page concernée
report-from-service = Service concerné
report-none = non précisé
report-subject = Objet
report-description = Description
report-description-help = { $max } caractères au plus.
report-send = Envoyer le signalement
# $id : le numéro de l’incident.
report-filed = Votre signalement n° { $id } est enregistré.

## Mes signalements et la file

mine-heading = Mes signalements
mine-none = Vous n’avez signalé aucun problème.
queue-heading = Incidents signalés
queue-none = Aucun incident dans cette liste.
queue-filter = Filtrer par état
queue-all = Tous
# $id : le numéro ; $subject : l’objet.
incident-title = N° { $id } : { $subject }
incident-heading = Incident n° { $id }
incident-reporter = Signalé par
incident-date = Signalé le
incident-status = État
incident-assignee = Pris en charge par
incident-nobody = personne pour l’instant
incident-answer = Réponse
incident-no-answer = Pas encore de réponse.
incident-open = Voir
incident-updated = Dernière modification
status-nouveau = nouveau
status-en-cours = en cours
status-resolu = résolu
status-ferme = fermé
handle-heading = Traiter l’incident
handle-assignee = Attribué à (identifiant)
handle-assignee-help = L’identifiant d’un personnel ou d’un administrateur ; vide : personne.
handle-answer = Réponse à la personne
handle-save = Enregistrer
handle-saved = L’incident est modifié ; la personne qui l’a signalé en est prévenue.
handle-unchanged = Rien n’a changé.
export = Exporter mes signalements (JSON)

## Notifications (envoyées en français puis en anglais)

# $id, $subject, $status.
notify-reporter = Votre signalement n° { $id } « { $subject } » : { $status }
notify-answered = Votre signalement n° { $id } « { $subject } » a une réponse ({ $status })
notify-new = Nouveau signalement n° { $id } : { $subject }
notify-assigned = Signalement n° { $id } « { $subject } » : il vous est attribué

## Erreurs

error-staff-only = seuls les personnels et les administrateurs traitent les incidents et modifient l’aide
error-too-many = vous avez déjà { $max } signalements en attente ; attendez qu’ils soient traités
error-bad-id = numéro d’incident invalide
error-not-found = cet incident n’existe pas
error-status = état inconnu : choisissez nouveau, en cours, résolu ou fermé
error-assignee = { $login } n’est pas un personnel ni un administrateur de l’établissement
error-topic = texte d’aide inconnu
error-lang = langue inconnue : français ou anglais
error-view = cette page de l’aide n’existe pas
error-version = numéro de version invalide : rechargez la page

## L’aide de cette fenêtre

help-title = L’aide et l’assistance
help-intro = Cette fenêtre rassemble l’aide de l’ENT et le didacticiel de votre profil, rédigés par l’établissement.
help-report = Pour signaler un problème, suivez le lien « Signaler un problème » en bas de n’importe quelle page : la page et le service d’où vous venez sont joints à votre message. Vous suivez l’état et la réponse dans « Mes signalements ».
help-staff = Les personnels et les administrateurs traitent les incidents (état, attribution, réponse) et modifient l’aide, en français et en anglais.

## Mes données

import-bad-date = date illisible (attendue au format RFC 3339, 2024-02-29T23:30:05Z)
import-duplicate = ce signalement est déjà dans vos signalements
import-bad-status = état inconnu (nouveau, en-cours, resolu ou ferme)
