# "My services": messages in English.
# Another language: a file <lang>/cartable-liens.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = My services
description = The school's services, opened without logging in again
# After the name of a service that opens in a new window.
new-window = new window
empty = No service for your profile.

## This window's help

help-title = My services
help-intro = This window leads to the school's digital services that your profile opens to you (library, school life, resources…).
help-sso = Most of them open without logging in again: the ENT confirms who you are. Those marked “new window” open in another tab.
help-missing = A service missing, or refusing to open? Report it with the “Report a problem” link at the bottom of the page.
