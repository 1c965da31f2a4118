# "Aide": messages in English.

title = Help and support
description = The ENT's help, a tutorial for each profile, and problem reports
nav-label = Help and support
nav-help = Help
nav-report = Report a problem
nav-mine = My reports
nav-queue = Reported incidents
nav-edit = Edit the help

## The help and the tutorials

help-heading = Help with the ENT
tutorial-heading = First steps: { $profile }
other-language = This text is not translated into your language yet; here it is in the other one.
contextual-heading = Help with each service
contextual = Every window of the ENT has its own “Help” link in its title bar: it explains that service and what you can do there.
report-invite = Something does not work? The “Report a problem” link at the bottom of every page sends your message to the ENT's administrators; follow their answer in “My reports”.

default-portail-1 = The ENT gathers your digital services behind one login: the tabs at the top lead to your pages, and each window is a service.
default-portail-2 = “Customize the page” adds, removes or moves windows; “My account”, under your name, changes your password and lets you take all your data away.
default-portail-3 = Your browser enlarges the text (Ctrl and +) and everything works with the keyboard: the Tab key goes from one link or button to the next, and the first link leads straight to the content.
default-eleve-1 = On the Home tab, find the school's news and your notepad.
default-eleve-2 = Your notes and links are visible to you only. The directory shows you the people of the school.
default-parent-1 = The ENT gives you the school's news and the staff directory.
default-parent-2 = “My account” lets you change your password and take your data away.
default-enseignant-1 = Publish an announcement for a class, a profile or one of your groups from the “News” window.
default-enseignant-2 = Create working groups in “My account” and delegate a role for a period.
default-personnel-1 = You publish announcements, follow the reported incidents and edit this help for every profile, in French and English.
default-personnel-2 = “Reported incidents” lists the problems users reported: assign them, change their status and answer; each change is notified to the person who reported it.
default-invite-1 = Your access is limited to a few services; ask the school for more.
default-admin-1 = The Administration page shows the services' status, usage indicators and expired accounts; you also edit this help and handle incidents.

## Editing the help

edit-heading = Edit the help
edit-intro = Write the ENT's help and each profile's tutorial, in French and English. A reader sees the text in her language, or else the other one; without any, she sees the help shipped with the ENT.
edit-topic = Text
edit-lang = Language
edit-state = State
edit-custom = written by the school
edit-default = help shipped with the ENT
edit-link = Edit “{ $topic }” ({ $lang })
topic-portail = Help with the ENT
lang-fr = French
lang-en = English
edit-form-heading = { $topic } ({ $lang })
edit-body = Text
edit-syntax = A blank line separates two paragraphs; “-” at the start of a line makes a list, “##” a heading, **bold**, [link text](https://…). HTML is shown as typed. Leave it empty to go back to the help shipped with the ENT.
edit-save = Save the text
edit-saved = The text is saved.
edit-back = Back to the list of texts

## Report a problem

report-heading = Report a problem
report-intro = Describe what you were doing and what happened. The ENT's administrators get your message; you are told of each change in “News”.
report-from-page = Page concerned
report-from-service = Service concerned
report-none = not given
report-subject = Subject
report-description = Description
report-description-help = At most { $max } characters.
report-send = Send the report
report-filed = Your report no. { $id } is filed.

## My reports and the queue

mine-heading = My reports
mine-none = You have not reported any problem.
queue-heading = Reported incidents
queue-none = No incident in this list.
queue-filter = Filter by status
queue-all = All
incident-title = No. { $id }: { $subject }
incident-heading = Incident no. { $id }
incident-reporter = Reported by
incident-date = Reported on
incident-status = Status
incident-assignee = Handled by
incident-nobody = nobody yet
incident-answer = Answer
incident-no-answer = No answer yet.
incident-open = Open
incident-updated = Last change
status-nouveau = new
status-en-cours = in progress
status-resolu = solved
status-ferme = closed
handle-heading = Handle the incident
handle-assignee = Assigned to (login)
handle-assignee-help = The login of a staff member or an administrator; empty: nobody.
handle-answer = Answer to the reporter
handle-save = Save
handle-saved = The incident is changed; the person who reported it is told.
handle-unchanged = Nothing changed.
export = Export my reports (JSON)

## Notifications (sent in French, then in English)

notify-reporter = Your report no. { $id } “{ $subject }”: { $status }
notify-answered = Your report no. { $id } “{ $subject }” has an answer ({ $status })
notify-new = New report no. { $id }: { $subject }
notify-assigned = Report no. { $id } “{ $subject }” is assigned to you

## Errors

error-staff-only = only staff and administrators handle incidents and edit the help
error-too-many = you already have { $max } reports waiting; wait until they are handled
error-bad-id = invalid incident number
error-not-found = this incident does not exist
error-status = unknown status: choose new, in progress, solved or closed
error-assignee = { $login } is not a staff member or an administrator of the school
error-topic = unknown help text
error-lang = unknown language: French or English
error-view = this page of the help does not exist
error-version = invalid version number: reload the page

## This window's help

help-title = Help and support
help-intro = This window gathers the ENT's help and your profile's tutorial, written by the school.
help-report = To report a problem, follow the “Report a problem” link at the bottom of any page: the page and the service you came from go with your message. Follow its status and answer in “My reports”.
help-staff = Staff and administrators handle incidents (status, assignment, answer) and edit the help, in French and English.

## My data

import-bad-date = unreadable date (expected as RFC 3339, 2024-02-29T23:30:05Z)
import-duplicate = this report is already among your reports
import-bad-status = unknown status (nouveau, en-cours, resolu or ferme)
