# "{{service}}": messages in English.

title = {{title}}
description = A list of entries for each user
empty = No entry yet.
add-title = Add an entry
field-title = Title
field-details = Details (optional)
add = Add
# $why: what is wrong with the text typed.
title-refused = Title refused: { $why }.
details-refused = Details refused: { $why }.

## Help

help-title = What is this block for?
help-text =
    It keeps a list of entries that is yours alone. Give a title, and details if you
    wish, then choose “Add”.
