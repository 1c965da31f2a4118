# "Notepad": messages in English.
# Another language: a file <lang>/cartable-bloc-notes.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = Notepad
description = Your personal notes
pref-max_notes = Notes shown
new-note = New note
# $max: the longest note.
max-help = At most { $max } characters.
add = Add
my-notes = My notes
delete = Delete
# $count: how many notes there are (more than are shown).
show-all = Show all { $count } notes
export = Export my notes (JSON)
none = No notes yet.

## Errors

# $max: the most notes a user may keep.
error-too-many = you already have { $max } notes; delete some first
error-bad-id = invalid note number
error-not-found = this note no longer exists

## Help

help-title = The notepad
# $max: the longest note.
help-intro =
    Write down what you do not want to forget: only you can see your notes. A note is at
    most { $max } characters long.
help-use =
    The newest notes come first. In “Preferences”, choose how many to show; maximize the
    block to see them all. The “Export” link downloads your notes as a JSON file.

## My data (export and import of the notes)

import-bad-date = unreadable creation date (expected in RFC 3339, 2024-02-29T23:30:05Z)
import-duplicate = this note is already in your notepad
# The type of the notes in the ENT-wide search.
search-kind-note = Notepad note
