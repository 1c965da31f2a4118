# L’annuaire (pages blanches) : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-annuaire.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

## Le descripteur

title = Annuaire
description = Pages blanches : trouver une personne de l’établissement
# Les préférences de l’établissement, une paire par profil de lecteur.
pref-fields_eleve = Champs visibles par le profil Élève
pref-people_eleve = Profils des personnes que le profil Élève peut trouver
pref-fields_parent = Champs visibles par le profil Parent
pref-people_parent = Profils des personnes que le profil Parent peut trouver
pref-fields_enseignant = Champs visibles par le profil Enseignant
pref-people_enseignant = Profils des personnes que le profil Enseignant peut trouver
pref-fields_personnel = Champs visibles par le profil Personnel
pref-people_personnel = Profils des personnes que le profil Personnel peut trouver
pref-fields_admin = Champs visibles par le profil Administrateur
pref-people_admin = Profils des personnes que le profil Administrateur peut trouver

## Les informations de l’annuaire (attributs LDAP), en-têtes de colonnes

field-mail = Courriel
field-telephoneNumber = Téléphone
field-mobile = Téléphone portable
field-title = Fonction
field-ENTEleveClasses = Classe
field-ENTEleveNivFormation = Niveau de formation
field-ENTAuxEnsClasses = Classes enseignées
field-ENTAuxEnsMatiereEnseignEtab = Matières enseignées
field-ENTPersonStructRattach = Établissement

## La recherche

search-title = Rechercher une personne
criterion-nom = Nom
criterion-nom-help = Tout ou partie du nom ou du prénom.
criterion-classe = Classe
criterion-structure = Établissement (code UAI)
criterion-profil = Profil
profile-any = Tous les profils
search-submit = Rechercher
search-reset = Nouvelle recherche
# Variables : $label (le nom du champ), $length (sa longueur), $max (la longueur acceptée).
problem-too-long = « { $label } » fait { $length } caractères ; { $max } au plus sont acceptés.
problem-control = « { $label } » contient des caractères de contrôle.
problem-profile = Le profil choisi n’existe pas ; choisissez-en un dans la liste.
search-invalid = La recherche n’a pas été faite :
search-unavailable = L’annuaire ne répond pas pour l’instant ; réessayez dans quelques minutes.
# Le titre de la page d’une recherche.
search-page-title = Annuaire : résultats de recherche

## Les résultats

results-title = Résultats
results-caption = Résultats de la recherche
found-none = Aucune personne ne correspond à votre recherche.
# $max : le nombre de personnes affichées au plus.
found-too-many = Plus de { $max } personnes correspondent ; les { $max } premières sont affichées.
found = { $count ->
    [one] { $count } personne trouvée.
   *[other] { $count } personnes trouvées.
}
found-maybe-more = { $count ->
    [one] { $count } personne trouvée(s) ; d’autres peuvent correspondre.
   *[other] { $count } personnes trouvée(s) ; d’autres peuvent correspondre.
}
refine = Affinez votre recherche (nom, classe, établissement ou profil) pour trouver la bonne personne.
column-name = Nom
column-profiles = Profils
column-carnet = Carnet d’adresses
hidden-mark = (masqué aux autres)
this-is-you = C’est vous
carnet-add = Ajouter au carnet
carnet-remove = Retirer du carnet

## Le carnet d’adresses

carnet-title = Mon carnet d’adresses
carnet-remove-short = Retirer
carnet-empty = Votre carnet est vide : ajoutez-y des personnes depuis les résultats d’une recherche.
carnet-missing = (n’est plus dans l’annuaire)
carnet-see-all = Voir tout le carnet ({ $count } personnes)
carnet-full = votre carnet compte déjà { $max } personnes ; retirez-en d’abord
error-bad-uid = identifiant de personne invalide
error-not-found = cette personne n’est pas dans l’annuaire

## Mes informations visibles (mode édition)

my-fields = Mes informations visibles
edit-saved = Vos choix sont enregistrés.
edit-intro = Cochez les informations vous concernant que les autres utilisateurs peuvent voir dans l’annuaire, selon leur profil. Votre nom et vos profils sont toujours visibles ; vous voyez toujours toutes vos informations ; les administrateurs de l’ENT voient tout, y compris ce que vous masquez.
edit-legend = Informations montrées aux autres
edit-save = Enregistrer
edit-nothing = L’annuaire ne montre aucune autre information vous concernant que votre nom et vos profils.
edit-rules = Ce que voit chaque profil
edit-back = Retour à l’annuaire
rule-name-only = le nom et les profils seulement
# $fields : la liste des informations que voit le profil.
rule-admin = { $fields } — y compris les informations masquées
# $people : les profils des personnes qu’il peut trouver.
rule-finds-only = { $fields } — ne trouve que : { $people }
rule-nobody = personne

## L’aide

help-title = L’annuaire (pages blanches)
# $max_results, $max_length : les limites de la recherche.
help-search =
    Cherchez une personne de l’établissement par son nom (ou une partie de son nom, sans
    vous soucier des accents ni des majuscules), par sa classe, par le code UAI de son
    établissement ou par son profil. Les critères se combinent. Au plus { $max_results } personnes sont
    affichées : si davantage correspondent, précisez votre recherche. Chaque champ accepte
    { $max_length } caractères au plus. Une recherche est une simple adresse : vous pouvez la garder
    dans vos favoris.
help-see-title = Ce que vous voyez
help-see =
    Le nom et les profils de chaque personne sont toujours affichés. Les autres
    informations (courriel, téléphone, classe…) dépendent de votre profil, selon les règles
    fixées par l’établissement : par défaut, les élèves et les parents ne voient pas les
    numéros de téléphone, que seuls les personnels et les administrateurs voient.
    L’établissement peut aussi limiter les personnes qu’un profil peut trouver. Si vous avez
    plusieurs profils, vous voyez tout ce que chacun d’eux permet de voir.
help-visible-title = Mes informations visibles
help-visible =
    Dans « Mes informations visibles », décochez les informations vous concernant que vous
    ne voulez pas montrer aux autres utilisateurs. Vous les voyez toujours vous-même, marquées
    « masqué aux autres ». Une personne ne peut pas vous trouver par une information que vous
    avez masquée (par exemple votre classe).
# Affiché en gras, à la suite du paragraphe précédent.
help-visible-admins =
    Les administrateurs de l’ENT voient
    toujours toutes les informations
help-visible-end = , y compris celles que vous avez masquées.
help-carnet-title = Mon carnet d’adresses
# $max_carnet : le nombre de personnes d’un carnet au plus.
help-carnet =
    Le bouton « Ajouter au carnet » d’un résultat met la personne dans votre carnet
    d’adresses ({ $max_carnet } personnes au plus) ; « Retirer » l’en enlève. Votre carnet n’est visible
    que par vous.
# The type of the people in the ENT-wide search.
search-kind-person = Personne de l’annuaire

## Sélecteur de destinataires

recipient-parents = Parents de la classe { $class }
