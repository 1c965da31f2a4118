# "My profile": messages in English.
# Another language: a file <lang>/cartable-profil.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = My profile
description = What the directory knows about you
profiles-label = Profiles:
# When the user has no profile.
no-profile = none
empty = The directory holds no other information about you.

## The directory's details (LDAP attributes), in the order they are shown

attr-title = Position
attr-mail = Email
attr-telephoneNumber = Phone
attr-ENTEleveClasses = Class
attr-ENTEleveNivFormation = Level
attr-ENTAuxEnsClasses = Classes taught
attr-ENTAuxEnsMatiereEnseignEtab = Subjects taught
attr-ENTEleveParents = Parents
attr-ENTAuxPersRelEleveEleve = Children at school
attr-o = School
attr-ENTPersonStructRattach = School code (UAI)

## Help

help-origin-title = Where does this come from?
help-origin =
    From the ENT's directory, fed by the school's databases (school life office,
    secretariat). Your profiles (pupil, parent, teacher, staff…) decide which services you see;
    they add up: a teacher may also be a parent.
help-wrong-title = Something is wrong?
help-wrong =
    You cannot change it here: tell the school's secretariat, which will correct it in its
    databases.
