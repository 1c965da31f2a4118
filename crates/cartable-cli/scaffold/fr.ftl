# « {{service}} » : messages en français, la langue par défaut.

title = {{title}}
description = Une liste d’entrées pour chaque utilisateur
empty = Aucune entrée pour le moment.
add-title = Ajouter une entrée
field-title = Titre
field-details = Détails (facultatif)
add = Ajouter
# $why : ce qui ne va pas dans le texte tapé.
title-refused = Titre refusé : { $why }.
details-refused = Détails refusés : { $why }.

## L’aide

help-title = À quoi sert ce bloc ?
help-text =
    Il garde une liste d’entrées qui n’est qu’à vous. Donnez un titre, et si vous le
    voulez des détails, puis choisissez « Ajouter ».
