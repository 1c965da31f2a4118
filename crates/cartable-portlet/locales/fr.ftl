# The portlet contract's own messages: the generic preference form (`preference_form`)
# and the names of the profiles.

# After a preference the établissement locked.
preference-locked = (fixé par l’établissement)
preference-save = Enregistrer
preference-cancel = Annuler

# The profiles (`PortletContext::profile_label`).
profile-eleve = Élève
profile-enseignant = Enseignant
profile-parent = Parent
profile-personnel = Personnel
profile-invite = Invité
profile-admin = Administrateur
