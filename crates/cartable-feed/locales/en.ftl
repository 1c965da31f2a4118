# The news block (RSS and Atom feeds): messages in English.
# Another language: a file <lang>/cartable-feed.ftl in the ENT's locale directory
# (cartable_i18n::add_locale_dir).

## The descriptor (the block's title comes from the établissement's configuration)

description = The latest items of a news feed (RSS, Atom)
pref-items = Items shown
pref-feed = News feed

## The window

# An item without a title.
untitled = (untitled)
empty = This feed has no items for now.
more = Show the items' summaries

## The message over the window when the last read of the feed failed.
## $source: the feed's name; $reason: one of the error-* reasons below;
## $when: the date and time of the last copy obtained ("Saturday 2 March 2024 at 10:00").

notice-stale = The feed “{ $source }” could not be updated: { $reason }. Below is the copy of { $when }; it may be out of date.
notice-unavailable = The feed “{ $source }” is unavailable: { $reason }. Try again later.

## Why reading failed

# $seconds: the whole seconds of the time limit; $tenths: its tenths of a second (0 to 9).
error-timeout = the feed did not answer within { $tenths ->
        [0] { $seconds }
       *[other] { $seconds }.{ $tenths }
    } s
# $kib: the size limit, in kibibytes.
error-too-large = the feed is too large (more than { $kib } KiB)
# $code: the HTTP status code.
error-status = the feed server answered with an error (HTTP { $code })
error-refused = the feed's address (or a redirect) is not allowed
error-unreachable = the feed server cannot be reached
error-dtd = the feed declares entities, refused for security
error-malformed = the feed is malformed (not valid RSS 2.0 or Atom 1.0)
error-internal = internal error

## Durations ($n: a whole number)

duration-hours = { $n ->
        [one] { $n } hour
       *[other] { $n } hours
    }
duration-minutes = { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }
duration-seconds = { $n ->
        [one] { $n } second
       *[other] { $n } seconds
    }

## Help

help-title = The news block
help-intro = This block shows the latest items of a news feed (RSS or Atom) chosen by the school. Each title leads to the item on the site that published it.
# $refresh: a duration (duration-*), "15 minutes".
help-refresh = The feed is read again when its last read is more than { $refresh } old. If its site does not answer, a message says so and the last copy obtained stays on screen: it may be out of date.
help-settings-title = Your settings
help-settings = In "Preferences", choose how many items are shown.
# $feeds: the names of the feeds offered, separated by commas.
help-settings-choice = In "Preferences", choose how many items are shown and the feed among those the school offers: { $feeds }.
help-locked = The school has set the feed.
help-maximize = Maximize the block to read each item's summary.
