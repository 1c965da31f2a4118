# "My services": messages in English.
# Another language: a file <lang>/cartable-liens.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

title = My services
description = The school's services, opened without logging in again
# After the name of a service that opens in a new window.
new-window = new window
empty = No service for your profile.
