# Le bloc d’actualités (flux RSS et Atom) : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-feed.ftl dans le dossier de traductions
# de l’ENT (cartable_i18n::add_locale_dir).

## Le descripteur (le titre du bloc vient de la configuration de l’établissement)

description = Les derniers articles d’un flux d’actualités (RSS, Atom)
pref-items = Nombre d’articles affichés
pref-feed = Flux d’actualités

## La fenêtre

# Un article sans titre.
untitled = (sans titre)
empty = Ce flux ne contient aucun article pour l’instant.
more = Afficher les résumés des articles

## Le message au-dessus de la fenêtre quand la dernière lecture du flux a échoué.
## $source : le nom du flux ; $reason : une des raisons error-* ci-dessous ;
## $when : la date et l’heure de la dernière version obtenue (« samedi 2 mars 2024 à 10:00 »).

notice-stale = Le flux « { $source } » n’a pas pu être mis à jour : { $reason }. Voici la version du { $when }, qui n’est peut-être plus à jour.
notice-unavailable = Le flux « { $source } » est indisponible : { $reason }. Réessayez plus tard.

## Pourquoi la lecture a échoué

# $seconds : les secondes entières du délai ; $tenths : ses dixièmes de seconde (0 à 9).
error-timeout = le flux n’a pas répondu en { $tenths ->
        [0] { $seconds }
       *[other] { $seconds },{ $tenths }
    } s
# $kib : la taille maximale, en kibioctets.
error-too-large = le flux est trop volumineux (plus de { $kib } Kio)
# $code : le code de statut HTTP.
error-status = le serveur du flux a répondu par une erreur (HTTP { $code })
error-refused = l’adresse du flux (ou une redirection) n’est pas autorisée
error-unreachable = le serveur du flux est injoignable
error-dtd = le flux contient des déclarations d’entités, refusées par sécurité
error-malformed = le flux est mal formé (ce n’est pas du RSS 2.0 ou de l’Atom 1.0 valide)
error-internal = erreur interne

## Les durées ($n : un nombre entier)

duration-hours = { $n ->
        [one] { $n } heure
       *[other] { $n } heures
    }
duration-minutes = { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }
duration-seconds = { $n ->
        [one] { $n } seconde
       *[other] { $n } secondes
    }

## L’aide

help-title = Le bloc d’actualités
help-intro = Ce bloc affiche les derniers articles d’un flux d’actualités (RSS ou Atom) choisi par l’établissement. Chaque titre mène à l’article sur le site qui l’a publié.
# $refresh : une durée (duration-*), « 15 minutes ».
help-refresh = Le flux est relu quand sa dernière lecture date de plus de { $refresh }. Si son site ne répond pas, un message l’indique et la dernière version obtenue reste affichée : elle n’est peut-être plus à jour.
help-settings-title = Vos réglages
help-settings = Dans « Préférences », choisissez le nombre d’articles affichés.
# $feeds : les noms des flux proposés, séparés par des virgules.
help-settings-choice = Dans « Préférences », choisissez le nombre d’articles affichés et le flux parmi ceux que l’établissement propose : { $feeds }.
help-locked = Le choix du flux est fixé par l’établissement.
help-maximize = Agrandissez le bloc pour lire le résumé de chaque article.
