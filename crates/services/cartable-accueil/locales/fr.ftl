# « Bienvenue » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-accueil.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Bienvenue
description = Accueil personnalisé et message de l’établissement
pref-message = Message de l’établissement
pref-show_date = Afficher la date
# $name : le nom de l’utilisateur.
greeting = Bonjour, { $name } !
# Suivi de la date du jour.
today-is = Nous sommes le


## L’aide

help-ent-title = Qu’est-ce que l’ENT ?
help-ent =
    L’espace numérique de travail (ENT) réunit en un seul endroit, avec un seul identifiant,
    les services numériques de votre établissement : cahier de textes, notes, messagerie,
    ressources pédagogiques, vie scolaire, informations de l’établissement…
help-blocks =
    Chaque bloc de la page est un service. Selon votre profil (élève, parent, enseignant,
    personnel), vous voyez les services qui vous concernent. Vous pouvez déplacer, réduire ou
    retirer les blocs qui ne sont pas fixés par l’établissement.
help-this-title = Ce bloc
help-this =
    Il affiche le message de l’établissement et la date du jour. Dans
    « Préférences », vous pouvez masquer la date ; le message, lui, est choisi par
    l’établissement.
