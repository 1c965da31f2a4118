# « Mon profil » : messages en français, la langue par défaut.
# Une autre langue : un fichier <langue>/cartable-profil.ftl dans le dossier de
# traductions de l’ENT (cartable_i18n::add_locale_dir).

title = Mon profil
description = Ce que l’annuaire sait de vous
profiles-label = Profils :
# Quand l’utilisateur n’a aucun profil.
no-profile = aucun
empty = L’annuaire ne contient pas d’autre information vous concernant.

## Les informations de l’annuaire (attributs LDAP), dans l’ordre où elles sont montrées

attr-title = Fonction
attr-mail = Courriel
attr-telephoneNumber = Téléphone
attr-ENTEleveClasses = Classe
attr-ENTEleveNivFormation = Niveau
attr-ENTAuxEnsClasses = Classes enseignées
attr-ENTAuxEnsMatiereEnseignEtab = Matières enseignées
attr-ENTEleveParents = Responsables légaux
attr-ENTAuxPersRelEleveEleve = Enfants scolarisés
attr-o = Établissement
attr-ENTPersonStructRattach = Code de l’établissement (UAI)

## L’aide

help-origin-title = D’où viennent ces informations ?
help-origin =
    Elles viennent de l’annuaire de l’ENT, alimenté par les bases de l’établissement
    (vie scolaire, secrétariat). Vos profils (élève, parent, enseignant, personnel…) décident
    des services que vous voyez ; ils se cumulent : un enseignant peut aussi être parent.
help-wrong-title = Une information est fausse ?
help-wrong =
    Vous ne pouvez pas la modifier ici : signalez-la au secrétariat de l’établissement,
    qui la corrigera dans ses bases.
