# La démo du lycée : messages en français, la langue par défaut (la cantine).
# Une autre langue : un fichier <langue>/cartable-demo.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

## La cantine

cantine-title = Cantine
cantine-description = Le menu du jour et la réservation du déjeuner
cantine-heading = Menu du jour
# Le menu du jour, un plat par message.
cantine-starter = Carottes râpées
cantine-main = Poulet rôti, haricots verts
cantine-dairy = Yaourt
cantine-dessert = Pomme
cantine-booked = Vous déjeunez à la cantine demain.
cantine-not-booked = Vous n’êtes pas inscrit pour demain.
cantine-cancel = Annuler le déjeuner de demain
cantine-book = Déjeuner à la cantine demain
