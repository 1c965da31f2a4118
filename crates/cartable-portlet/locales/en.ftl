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

## Dates (`cartable_portlet::time::Dates`), in chrono's strftime format. `date-names` is
## chrono's locale for the names of days and months; the `-first` formats are used on
## the first day of a month.
date-names = en_GB
date-long = %A %-d %B %Y
date-long-first = %A %-d %B %Y
date-medium = %a %-d %b %Y
date-medium-first = %a %-d %b %Y
date-short = %d/%m/%Y
date-time = %H:%M
date-long-time = %A %-d %B %Y at %H:%M
date-long-time-first = %A %-d %B %Y at %H:%M
date-short-time = %d/%m/%Y %H:%M

# The check of a text typed by the user (`items::checked_text`).
text-empty = the text is empty
text-too-long = the text is { $len } characters long; at most { $max } are accepted
text-control = the text contains control characters

# Reading a service's own JSON export file (`export::JsonList`).
import-unknown-file = a file the { $service } service does not know (only { $path } is read)
import-unknown-format = this file is not an export of the { $service } service (format “{ $format }”, version { $version })
