# « Mes services » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-liens.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Mes services
description = Les services de l’établissement, ouverts sans se reconnecter
# Après le nom d’un service qui s’ouvre dans une nouvelle fenêtre.
new-window = nouvelle fenêtre
empty = Aucun service pour votre profil.
