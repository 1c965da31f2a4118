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

## Dates (`cartable_portlet::time::Dates`), in chrono's strftime format. `date-names` is
## chrono's locale for the names of days and months; the `-first` formats are used on
## the first day of a month (« 1er mars »).
date-names = fr_FR
date-long = %A %-d %B %Y
date-long-first = %A 1er %B %Y
date-medium = %a %-d %b %Y
date-medium-first = %a 1er %b %Y
date-short = %d/%m/%Y
date-time = %H:%M
date-long-time = %A %-d %B %Y à %H:%M
date-long-time-first = %A 1er %B %Y à %H:%M
date-short-time = %d/%m/%Y %H:%M

# The check of a text typed by the user (`items::checked_text`).
text-empty = le texte est vide
text-too-long = le texte fait { $len } caractères ; { $max } au plus sont acceptés
text-control = le texte contient des caractères de contrôle

# Reading a service's own JSON export file (`export::JsonList`).
import-unknown-file = fichier inconnu du service { $service } (seul { $path } est lu)
import-unknown-format = ce fichier n’est pas un export du service { $service } (format « { $format } », version { $version })
