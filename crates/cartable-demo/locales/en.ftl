# The lycée demo: messages in English (the canteen).
# Another language: a file <lang>/cartable-demo.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

## The canteen

cantine-title = Canteen
cantine-description = Today's menu and lunch booking
cantine-heading = Today's menu
# Today's menu, one dish per message.
cantine-starter = Grated carrots
cantine-main = Roast chicken, green beans
cantine-dairy = Yoghurt
cantine-dessert = Apple
cantine-booked = You are booked for lunch tomorrow.
cantine-not-booked = You are not booked for tomorrow.
cantine-cancel = Cancel tomorrow's lunch
cantine-book = Book lunch for tomorrow
