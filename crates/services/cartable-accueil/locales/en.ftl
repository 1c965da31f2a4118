# "Welcome": messages in English.
# Another language: a file <lang>/cartable-accueil.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = Welcome
description = Personal greeting and the school's message
pref-message = School message
pref-show_date = Show the date
# $name: the user's name.
greeting = Hello, { $name }!
# Followed by today's date.
today-is = Today is


## Help

help-ent-title = What is the ENT?
help-ent =
    The digital workspace (ENT) brings together in one place, with one login, the digital
    services of your school: homework diary, marks, messages, learning resources, school life,
    news from the school…
help-blocks =
    Each block of the page is a service. Depending on your profile (pupil, parent, teacher,
    staff) you see the services meant for you. You may move, minimize or remove the blocks the
    school did not lock.
help-this-title = This block
help-this =
    It shows the school's message and today's date. In “Preferences” you may hide the
    date; the message is chosen by the school.
