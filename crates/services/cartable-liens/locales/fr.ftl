# « Mes services » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-liens.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Mes services
description = Les services de l’établissement, ouverts sans se reconnecter
# Après le nom d’un service qui s’ouvre dans une nouvelle fenêtre.
new-window = nouvelle fenêtre
empty = Aucun service pour votre profil.

## L’aide de cette fenêtre

help-title = Mes services
help-intro = Cette fenêtre mène aux services numériques de l’établissement que votre profil vous ouvre (CDI, vie scolaire, ressources…).
help-sso = La plupart s’ouvrent sans vous reconnecter : l’ENT leur confirme votre identité. Ceux marqués « nouvelle fenêtre » s’ouvrent dans un autre onglet.
help-missing = Un service manque ou refuse de s’ouvrir ? Signalez-le par le lien « Signaler un problème » en bas de la page.
