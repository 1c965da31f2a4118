# The portlet contract's own messages: the generic preference form (`preference_form`)
# and the names of the profiles.

# After a preference the établissement locked.
preference-locked = (set by the school)
preference-save = Save
preference-cancel = Cancel

# The profiles (`PortletContext::profile_label`).
profile-eleve = Pupil
profile-enseignant = Teacher
profile-parent = Parent
profile-personnel = Staff
profile-invite = Guest
profile-admin = Administrator
