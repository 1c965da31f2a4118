# "What's new" and announcements: messages in English.
# Another language: a file <lang>/cartable-annonces.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = What's new
description = The latest news of the services, and the school's announcements
pref-max_items = Items shown
# The source of the announcements among the news.
source-announcement = Announcement
pinned = Pinned

## The home-page window

none = Nothing new for now.
all-announcements = All announcements

## The list of announcements (maximized window)

list-heading = Announcements
no-announcements = No announcement to show.
# Followed by the audience: "for pupils".
for = for
edit = Edit
delete = Delete
status-scheduled = not shown yet
status-ended = no longer shown
period-from-until = from { $from } to { $until }
period-from = since { $from }
done-published = Announcement published.
done-updated = Announcement updated.
done-deleted = Announcement deleted.
done-feed-new = Your feed address is ready; the previous one, if any, no longer works.
done-feed-revoked = Your feed address is revoked: it no longer works.

## The form

publish-heading = Publish an announcement
edit-heading = Edit the announcement
announcement-title = Announcement title
announcement-body = Announcement text (optional)
body-help = Plain text, at most { $max } characters; an empty line separates two paragraphs.
audience = Audience
audience-all = The whole school
audience-eleve = Pupils
audience-parent = Parents
audience-enseignant = Teachers
audience-personnel = Staff
audience-admin = Administrators
audience-class = class { $class }
audience-a-group = a group
audience-people = named people
audience-other-class = Another class (give it below)
my-classes = My classes
my-groups = My groups
class-code = Other class
class-code-help = The class's code in the directory, for example 2nde-3.
period = Display period
shown-from = Show from
shown-until = Until (included)
shown-until-help = Leave empty for an announcement without end.
pin = Pin the announcement at the top
publish = Publish
save = Save
cancel = Cancel

## The private RSS feed

feed-heading = My private RSS feed
feed-intro = Subscribe your feed reader to this address to read the announcements meant for you:
feed-secret = This address is personal: whoever knows it reads your announcements. Revoke it if you shared it.
feed-new = Change the address
feed-revoke = Revoke the address
feed-none = A feed reader (RSS) can follow the announcements meant for you, at a personal address.
feed-create = Create my feed address
feed-title = Announcements – { $name }
feed-description = The school's announcements meant for you.

## Search

search-kind = Announcement

## The e-mail digest (edit mode)

digest-on = Saved: you will receive the digest by e-mail.
digest-off = Saved: you will no longer receive the digest by e-mail.
digest-legend = E-mail digest
digest-label = Receive the digest by e-mail
# Followed by the e-mail address.
digest-to = It is sent to
digest-no-mail = The directory knows no e-mail address for you: the digest cannot be sent to you.
digest-save = Save

## Errors ($value: the value received, quoted)

error-digest-choice = unknown digest choice { $value }
error-group = no such group, or you are not a member
error-audience = unknown audience { $value }
error-class = you may not publish for class { $value }
error-class-empty = give the class's code
error-date = a date is written 2026-12-07 (or 07/12/2026)
error-until-before = the display ends before it starts
error-pinned = unknown value for "pin"
error-bad-id = unreadable announcement number
error-not-found = you have no announcement with this number

## Mes données

import-not-publisher = you may not publish announcements in this school
import-bad-date = unreadable date or empty period
import-audience = an audience you may not address here (a group of another school, a class that is not yours…)
import-duplicate = this announcement is already there

## Help

help-title = What's new and announcements
help-news =
    This block gathers the latest news of the ENT's services meant for you: school
    announcements, homework, messages… Pinned announcements come first, then the newest;
    times are in Coordinated Universal Time (UTC). "All announcements" shows them whole.
help-publish =
    Teachers and staff publish an announcement for the whole school, a profile, one of
    their classes or one of their groups, for a period: outside it, only its author sees
    it. The author edits or deletes it.
help-feed =
    Your feed reader (RSS) can follow the announcements meant for you at a personal
    address, created and revoked in this block.
help-digest =
    In this block's preferences, tick "Receive the digest by e-mail" to get an e-mail
    listing the news published for you since the previous one.
