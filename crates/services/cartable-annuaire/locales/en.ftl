# The directory (white pages): messages in English.
# Another language: a file <lang>/cartable-annuaire.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

## The descriptor

title = Directory
description = White pages: find someone in the school
# The établissement's preferences, a pair per viewer profile.
pref-fields_eleve = Fields visible to the Pupil profile
pref-people_eleve = Profiles of the people the Pupil profile can find
pref-fields_parent = Fields visible to the Parent profile
pref-people_parent = Profiles of the people the Parent profile can find
pref-fields_enseignant = Fields visible to the Teacher profile
pref-people_enseignant = Profiles of the people the Teacher profile can find
pref-fields_personnel = Fields visible to the Staff profile
pref-people_personnel = Profiles of the people the Staff profile can find
pref-fields_admin = Fields visible to the Administrator profile
pref-people_admin = Profiles of the people the Administrator profile can find

## The directory's details (LDAP attributes), column headers

field-mail = Email
field-telephoneNumber = Telephone
field-mobile = Mobile phone
field-title = Position
field-ENTEleveClasses = Class
field-ENTEleveNivFormation = Level
field-ENTAuxEnsClasses = Classes taught
field-ENTAuxEnsMatiereEnseignEtab = Subjects taught
field-ENTPersonStructRattach = School

## The search

search-title = Find a person
criterion-nom = Name
criterion-nom-help = All or part of the name.
criterion-classe = Class
criterion-structure = School (UAI code)
criterion-profil = Profile
profile-any = Any profile
search-submit = Search
search-reset = New search
# Variables: $label (the field's name), $length (its length), $max (the length accepted).
problem-too-long = “{ $label }” is { $length } characters long; at most { $max } are accepted.
problem-control = “{ $label }” contains control characters.
problem-profile = The chosen profile does not exist; pick one from the list.
search-invalid = The search was not run:
search-unavailable = The directory is not answering right now; try again in a few minutes.
# The page title of a search.
search-page-title = Directory: search results

## The results

results-title = Results
results-caption = Search results
found-none = Nobody matches your search.
# $max: the most people listed.
found-too-many = More than { $max } people match; the first { $max } are listed.
found = { $count ->
    [one] { $count } person found.
   *[other] { $count } people found.
}
found-maybe-more = { $count ->
    [one] { $count } person found; more may match.
   *[other] { $count } people found; more may match.
}
refine = Refine your search (name, class, school or profile) to find the right person.
column-name = Name
column-profiles = Profiles
column-carnet = Address book
hidden-mark = (hidden from others)
this-is-you = This is you
carnet-add = Add to address book
carnet-remove = Remove from address book

## The address book

carnet-title = My address book
carnet-remove-short = Remove
carnet-empty = Your address book is empty: add people to it from search results.
carnet-missing = (no longer in the directory)
carnet-see-all = See the whole address book ({ $count } people)
carnet-full = your address book already holds { $max } people; remove some first
error-bad-uid = invalid person identifier
error-not-found = this person is not in the directory

## My visible details (edit mode)

my-fields = My visible details
edit-saved = Your choices are saved.
edit-intro = Tick the details about you that other users may see in the directory, according to their profile. Your name and profiles are always visible; you always see all your details; the ENT’s administrators see everything, including what you hide.
edit-legend = Details shown to others
edit-save = Save
edit-nothing = The directory shows nothing about you but your name and profiles.
edit-rules = What each profile sees
edit-back = Back to the directory
rule-name-only = name and profiles only
# $fields: the details the profile sees.
rule-admin = { $fields } — including hidden details
# $people: the profiles of the people it can find.
rule-finds-only = { $fields } — finds only: { $people }
rule-nobody = nobody

## Help

help-title = The directory (white pages)
# $max_results, $max_length: the search's limits.
help-search =
    Find someone in the school by name (or part of it; accents and case do not matter),
    by class, by the UAI code of their school or by profile. Criteria combine. At most { $max_results }
    people are shown: if more match, narrow your search. Each field accepts at most { $max_length }
    characters. A search is a plain address: you can bookmark it.
help-see-title = What you see
help-see =
    Everyone’s name and profiles are always shown. Other details (email, telephone,
    class…) depend on your profile, following the school’s rules: by default, pupils and
    parents do not see telephone numbers, which only staff and administrators see. The school
    may also limit whom a profile can find. If you hold several profiles, you see everything
    any of them allows.
help-visible-title = My visible details
help-visible =
    In “My visible details”, untick the details about you that other users should not see.
    You still see them yourself, marked “hidden from others”. Nobody can find you through a
    detail you hid (your class, for instance).
# Shown in bold, right after the paragraph above.
help-visible-admins =
    The ENT’s administrators always see
    every detail
help-visible-end = , including the ones you hid.
help-carnet-title = My address book
# $max_carnet: the most people in an address book.
help-carnet =
    The “Add to address book” button of a result puts the person in your address book (at
    most { $max_carnet } people); “Remove” takes them out. Only you can see your address book.
# The type of the people in the ENT-wide search.
search-kind-person = Person in the directory

## Recipient picker

recipient-parents = Parents of class { $class }
