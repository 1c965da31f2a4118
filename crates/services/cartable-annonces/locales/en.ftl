# "What's new": messages in English.
# Another language: a file <lang>/cartable-annonces.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = What's new
description = The latest news of the services, and announcements
pref-max_items = Items shown
# The source of the announcements published in this window.
source-announcement = Announcement

## News and publishing

published = Announcement published.
none = Nothing new for now.
publish-heading = Publish an announcement
announcement-title = Announcement title
audience = Audience
audience-everyone = Everyone
audience-eleve = Pupils
audience-parent = Parents
audience-enseignant = Teachers
my-groups = My groups
publish = Publish

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

## Help

help-title = What's new
help-news =
    This block gathers the latest news of the ENT's services meant for you: school
    announcements, homework, messages… The newest come first; times are in Coordinated
    Universal Time (UTC).
help-publish =
    Teachers and staff may publish an announcement for everyone, for pupils, for parents,
    for teachers or for one of their groups.
help-digest =
    In this block's preferences, tick "Receive the digest by e-mail" to get an e-mail
    listing the news published for you since the previous one.
