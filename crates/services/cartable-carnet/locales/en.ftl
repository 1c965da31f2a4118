# "Address book": English messages.

title = Address book
description = Your contacts and your groups', exchanged with your applications (vCard, LDIF)
group-tool = Group address book
books = Address books
my-book = My address book
group-book = “{ $group }” address book
all-books = All
shared-with-me = Shared with me
saved = Change saved.

## List

col-name = Name
col-book = Address book
from-directory = directory
gone = no longer in the directory
empty-book = This address book is empty.
none-shared = Nobody has shared a contact with you yet.
new-contact = Add a contact
search-directory = Add someone from the directory
search = Search
found = { $n ->
    [0] Nobody in the directory matches “{ $text }”.
    [one] One person matches “{ $text }”.
   *[other] { $n } people match “{ $text }”.
}
already-added = already in this address book
add = Add
back = Back to the address book
cancel = Cancel
save = Save
consolidate = Group address books shown in “All”

## Fields

field-nom = Last name
field-prenom = First name
field-fonction = Job title
field-institution = Institution
field-adresse = Work address
field-telephone = Telephone
field-courriel = Email
field-note = Note

## Entry

person-help = This person comes from the directory: her details are the directory's, as you may see them, and follow its changes.
gone-help = This person no longer appears in the directory for you: only her name is kept.
sharing = Sharing
not-shared = This contact is shared with nobody.
shared-group = the group “{ $group }”
shared-user = { $user }
share-group = Share with a group
share-user = Share with a user (her login)
share = Share
unshare = Stop sharing
copy = Copy
copy-to = Copy this contact into the address book
delete = Delete this contact
delete-question = Delete “{ $name }” from this address book?
confirm-delete = Yes, delete

## Import and export

import-export = Import, export
export-vcard4 = Export as vCard 4.0 (.vcf)
export-vcard3 = Export as vCard 3.0 (.vcf, older phones and programs)
export-ldif = Export as LDIF (.ldif, Thunderbird)
import-file = File to import (vCard or LDIF)
import-help = An export from Thunderbird, Google Contacts, Outlook or a phone; 30 MB at most. Photos are not kept.
import = Import
import-summary = Import: { $kept } contact(s) added, { $duplicates } already there, { $invalid } unreadable or refused, { $full } beyond the address book's capacity.
import-photos = { $n } photo(s) not kept.
import-legacy = The file was not UTF-8: it was read as { $encoding }.
import-more = { $n } contact(s) beyond the address book's capacity were not read.
import-duplicate = already in the address book
import-not-card = not a contact card
import-too-deep = file nested too deeply: the rest was not read
import-bad-card = unreadable card
import-ldif-change = LDIF change record skipped
import-ldif-not-person = LDIF record without a name or an email skipped
import-unknown-file = file unknown to this service
import-bad-shares = unreadable shares file: { $error }
import-share-no-entry = the shared contact is not in the address book

## Errors

error-not-found = This contact or address book does not exist, or you may not see it.
error-bad-id = Invalid contact number.
error-format = Unknown export format: vcard4, vcard3 or ldif.
error-empty = A contact needs a name or an email address.
error-too-long = A field is too long:
error-email = This is not an email address:
error-full = This address book is full ({ $max } contacts): delete some before adding more.
error-person-unknown = This person is not in the directory, or you may not see her.
error-share-target = This user does not exist, or this group is not yours.
error-no-file = Choose a file to import.
error-file-too-large = The file is { $size } MB, more than the { $max } MB an import reads: split it, or export it without photos.
error-not-address-book = This file is neither a vCard (.vcf) nor an LDIF (.ldif) address book: nothing was imported.

## Help

help-title = The address book
help-intro = Your address book is yours alone. Add contacts to it, or people from the établissement's directory.
help-directory = For a person of the directory, the address book copies nothing: it shows what the directory lets you see of her, never what she chose to hide, and follows her changes.
help-groups = Each group that has the tool has its address book, read by its members and kept by its contributors. “All” gathers yours and those of the groups you choose. A contact of your book is shared, read-only, with a user or a group.
help-files = Import and export as vCard 3.0 or 4.0 and LDIF: Thunderbird, Google Contacts, Outlook and phones read them.

## Synchronisation (CardDAV)

dav-read-only = You may read this address book, not change it.
dav-bad-name = Invalid card name: letters, digits, “-”, “_” and “.” only.
dav-too-large = Card too large (more than { $max } KiB): the address book keeps no photos, send it without.
dav-not-vcard = This is not a vCard (BEGIN:VCARD … END:VCARD).
dav-stale = The card changed since your last synchronisation: synchronise again before changing it.
dav-person = This person comes from the directory: her details change in the directory, not in the address book.
dav-uid-conflict = Another card of this address book already has this UID.

## ENT-wide search

search-kind-contact = Contact
