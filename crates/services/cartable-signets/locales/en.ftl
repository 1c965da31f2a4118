# "Useful links": messages in English.
# Another language: a file <lang>/cartable-signets.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = Useful links
description = The school's links and yours
pref-links = School links (one line “Title|https://…” per link)
school-links = School links
my-links = My links
remove = Remove
none = You have not added any link yet.
link-title = Link title
link-url = Address
link-url-help = A web address starting with https:// or http://.
add = Add the link

## Errors

error-url = the address must be a full web address starting with https:// or http://
# $max: the most links a user may add.
error-too-many = you already have { $max } links; remove some first
error-bad-id = invalid link number
error-not-found = this link no longer exists

## My data (export and import of the bookmarks)

import-unknown-file = a file the bookmarks do not know (only bookmarks.html is read)
import-not-bookmarks = this file is not a bookmark file in the Netscape format (the one of Firefox, Chrome and Edge)
import-duplicate = this link is already in your bookmarks
import-no-url = a bookmark without an address
