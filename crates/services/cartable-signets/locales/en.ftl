# "Useful links": messages in English.
# Another language: a file <lang>/cartable-signets.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = Useful links
description = The school's links and yours, in folders, shared
pref-links = School links (one line “Title|https://…” per link)
school-links = School links
my-links = My links
remove = Remove
none = You have not added any link here yet.
link-title = Link title
link-url = Address
link-url-help = A web address starting with https:// or http://.
add = Add the link

## Folders, order, editing

folder-path = Folder path
folder = Folder
empty-folder = This folder is empty.
move-up = Move up
move-down = Move down
edit = Edit
new-folder = New folder
create-folder = Create the folder
edit-link = Edit the link
edit-folder = Edit the folder
folder-name = Folder name
parent = In the folder
top-level = My links (top level)
save = Save
cancel = Cancel
back = Back to my links
delete-link = Delete this link
delete-folder = Delete this folder
# $title: the link's title; $url: its address.
confirm-delete-link = Delete the link “{ $title }” ({ $url })?
# $name: the folder's name; $links, $folders: what it holds.
confirm-delete-folder = Delete the folder “{ $name }” and everything in it ({ $links } links, { $folders } folders)?
confirm-delete = Delete
untitled-folder = Untitled

## Sharing

sharing = Sharing
shared-with = Shared read-only with:
not-shared = This folder is not shared with anyone.
unshare = Stop sharing
share-group = Share with one of my groups
share-user = Share with a person (her login)
share-user-help = The person's login, for example “lmartin”. She will see this folder and what it holds, without changing it.
share = Share
shared-with-me = Shared with me
# $name: who shares.
shared-by = shared by { $name }
# $name: the group's name.
group-label = group { $name }
export-shared = Export this folder (HTML bookmark file)

## Import and export

import-export = Import or export
export = Export my bookmarks (HTML file)
export-help = Firefox, Chrome and Edge import the file with its folders.
import-file = Bookmark file (HTML exported by Firefox, Chrome or Edge)
import = Import
# $links, $folders, $skipped: what the import did.
imported = Import done: { $links } links and { $folders } folders added; { $skipped } items skipped (addresses that are not web pages, or already there).

## Search

search-kind = Bookmark

## Errors

error-url = the address must be a full web address starting with https:// or http://
# $max: the most links a user may keep.
error-too-many = you already have { $max } links; remove some first
# $max: the most folders a user may keep.
error-too-many-folders = you already have { $max } folders; delete some first
error-bad-id = invalid link or folder number
error-not-found = this link or folder no longer exists (or is not shared with you)
# $max: the longest name.
error-folder-name = the folder's name must have 1 to { $max } characters
error-folder-loop = a folder cannot go into itself or one of its subfolders
error-confirm = this folder is not empty: confirm its deletion
error-share-group = you may only share with a group you belong to
error-share-self = this folder is yours already
# $login: the login typed.
error-share-user = nobody has the login “{ $login }” in the directory
error-no-file = choose a bookmark file to import
# $max: the largest size, in MiB.
error-file-too-large = this file is larger than { $max } MiB; nothing was imported

## My data (export and import of the bookmarks)

import-unknown-file = a file the bookmarks do not know (only bookmarks.html and shares.json are read)
import-not-bookmarks = this file is not a bookmark file in the Netscape format (the one of Firefox, Chrome and Edge); nothing was imported
import-no-list = this bookmark file is damaged: it holds no list of bookmarks (<DL>); nothing was imported
# $links, $folders: what the file would add; $max, $max_folders: the limits; $kept, $kept_folders: what is there.
import-too-many = this file would add { $links } links and { $folders } folders: you may keep at most { $max } links and { $max_folders } folders (you have { $kept } and { $kept_folders }). Nothing was imported.
import-duplicate = this link is already in your bookmarks
import-folder-merged = this folder exists already: what it holds is added to it
import-no-url = a bookmark without an address
# $error: what the JSON reader found.
import-bad-shares = the shares file cannot be read ({ $error })
import-share-no-folder = the folder of this share was not imported
import-share-unknown = this person or group does not exist here (or you are not in this group)

## This window's help

help-title = Useful links
help-intro = At the top, the links the school chose; below, your own, which only you see unless you share them.
help-folders = Sort your links into folders: create one, move a link or a folder up or down, edit or delete it (a deletion that would lose links asks first).
help-share = A folder is shared read-only with people or your groups: they see it among the folders shared with them, and cannot change it.
help-files = Your links are exported in the “Netscape” format that Firefox, Chrome and Edge read, and imported from those browsers with their folders.
