//! The window's templates (minijinja, escaped by default; messages through `t`). Every
//! view is a table with headers, without JavaScript, readable at 360 px.

/// The superposed view: navigation, the day, week or month table, the legend with the
/// filter (a GET form: which agendas to show), each event's attachments and edit link.
pub(crate) const VIEW: &str = r#"{% macro extras(e) %}{% if e.attachments %}<ul class="agenda-attachments">{% for f in e.attachments %}<li><a href="{{ f.url }}"{% if f.external %} rel="noopener noreferrer nofollow"{% else %} download{% endif %}>{{ f.name }}</a></li>{% endfor %}</ul>{% endif %}{% if e.edit %} <a href="{{ e.edit }}" class="agenda-edit">{{ t("edit") }}<span class="visually-hidden"> – {{ e.title }}</span></a>{% endif %}{% endmacro %}{% if done %}<p class="notice" role="status">{{ done }}</p>
{% endif %}{% if report %}<div class="notice" role="status"><p>{{ report.summary }}</p>{% if report.refused %}<ul>{% for r in report.refused %}<li>{{ r }}</li>{% endfor %}</ul>{% endif %}</div>
{% endif %}<nav aria-label="{{ t("nav-label") }}" class="agenda-nav">
<p><a href="{{ nav.prev }}">{{ t("previous") }}<span class="visually-hidden"> – {{ nav.prev_label }}</span></a> · <a href="{{ nav.today }}">{{ t("today") }}</a> · <a href="{{ nav.next }}">{{ t("next") }}<span class="visually-hidden"> – {{ nav.next_label }}</span></a></p>
<p>{% for v in views %}{% if v.current %}<strong aria-current="page">{{ v.label }}</strong>{% else %}<a href="{{ v.url }}">{{ v.label }}</a>{% endif %}{% if not loop.last %} · {% endif %}{% endfor %}</p>
</nav>
{% if view == "month" %}<div class="table-scroll"><table class="agenda-month">
<caption>{{ caption }}</caption>
<thead><tr>{% for w in weekdays %}<th scope="col" abbr="{{ w.long }}">{{ w.short }}</th>{% endfor %}</tr></thead>
<tbody>{% for week in weeks %}<tr>{% for d in week %}<td{% if d.today %} class="today"{% endif %}>{% if d.in_month %}<a href="{{ d.url }}" aria-label="{{ d.label }}">{{ d.number }}</a>{% if d.events %}<ul>{% for e in d.events %}<li class="src-{{ e.source }}">{% if e.time %}{{ e.time }} {% endif %}{{ e.title }}{{ extras(e) }}</li>{% endfor %}</ul>{% endif %}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody></table></div>
{% elif view == "day" %}<table class="agenda-day">
<caption>{{ caption }}</caption>
<thead><tr><th scope="col">{{ t("col-time") }}</th><th scope="col">{{ t("col-event") }}</th><th scope="col">{{ t("col-place") }}</th><th scope="col">{{ t("col-agenda") }}</th></tr></thead>
<tbody>{% for e in days[0].events %}<tr class="src-{{ e.source }}"><td>{{ e.time or t("all-day") }}</td><td>{{ e.title }}{% if e.description %}<br><span class="muted">{{ e.description }}</span>{% endif %}{{ extras(e) }}{% if e.delete %}<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="delete"><input type="hidden" name="calendar" value="{{ e.delete.calendar }}"><input type="hidden" name="name" value="{{ e.delete.name }}"><button type="submit">{{ t("delete") }}<span class="visually-hidden"> – {{ e.title }}</span></button></form>{% endif %}</td><td>{{ e.location }}</td><td>{{ e.calendar }}</td></tr>
{% else %}<tr><td colspan="4">{{ t("no-events") }}</td></tr>
{% endfor %}</tbody></table>
{% else %}<table class="agenda-week">
<caption>{{ caption }}</caption>
<thead><tr><th scope="col">{{ t("col-day") }}</th><th scope="col">{{ t("col-events") }}</th></tr></thead>
<tbody>{% for d in days %}<tr{% if d.today %} class="today"{% endif %}><th scope="row"><a href="{{ d.url }}">{{ d.label }}</a></th><td>{% if d.events %}<ul>{% for e in d.events %}<li class="src-{{ e.source }}"><strong>{{ e.time or t("all-day") }}</strong> {{ e.title }}{% if e.location %} – {{ e.location }}{% endif %} <span class="muted">({{ e.calendar }})</span>{{ extras(e) }}</li>{% endfor %}</ul>{% else %}<span class="muted">{{ t("no-events") }}</span>{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% endif %}<form method="get" action="{{ filter.action }}" class="agenda-filter">{% for f in filter.fields %}<input type="hidden" name="{{ f[0] }}" value="{{ f[1] }}">{% endfor %}
<fieldset><legend>{{ t("filter-legend") }}</legend>
<ul class="agenda-legend">{% for c in calendars %}<li class="src-{{ c.source }}"><input type="checkbox" id="{{ ns }}-show-{{ loop.index }}" name="p.show.{{ c.id }}" value="oui"{% if c.shown %} checked{% endif %}> <label for="{{ ns }}-show-{{ loop.index }}">{{ c.name }}{% if not c.write %} <span class="muted">({{ t("read-only") }})</span>{% endif %}</label></li>{% endfor %}</ul>
<p><button type="submit">{{ t("filter-apply") }}</button></p></fieldset></form>
{% if filter.save %}<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="filter"><input type="hidden" name="hidden" value="{{ filter.hidden }}"><input type="hidden" name="view" value="{{ view }}"><input type="hidden" name="date" value="{{ filter.fields[2][1] }}"><button type="submit">{{ t("filter-save") }}</button></form>
{% endif %}{% if not maximized %}<p><a href="{{ manage_url }}">{{ t("manage") }}</a></p>{% endif %}
{{ manage }}"#;

/// The forms (maximized window): a new event, import, export, subscription, rights.
pub(crate) const MANAGE: &str = r#"{% if edited %}<h3 id="{{ ns }}-form">{{ t("edit-heading", title=edited.title) }}</h3>
{% if edited.stale %}<p class="field-error" role="alert">{{ t("edit-stale") }}</p>{% endif %}
{% if edited.recurring %}<p class="notice">{{ t("edit-series") }}</p>{% endif %}
<form method="post" action="{{ edited.action }}" class="agenda-form" enctype="multipart/form-data">{{ csrf }}
<input type="hidden" name="op" value="update"><input type="hidden" name="calendar" value="{{ edited.calendar }}"><input type="hidden" name="name" value="{{ edited.name }}"><input type="hidden" name="etag" value="{{ edited.etag }}">
{% else %}<h3 id="{{ ns }}-form">{{ t("new-event") }}</h3>
{% if edit_missing %}<p class="field-error" role="alert">{{ t("edit-missing") }}</p>{% endif %}
{% if writable %}<form method="post" action="{{ action }}" class="agenda-form" enctype="multipart/form-data">{{ csrf }}
<input type="hidden" name="op" value="create">
{% endif %}{% endif %}{% if edited or writable %}
{% if form.general %}<p class="field-error" role="alert">{{ form.general | join(" ") }}</p>{% endif %}
<p><label for="{{ ns }}-event-title">{{ t("event-title") }}</label><br>
<input type="text" id="{{ ns }}-event-title" name="title" maxlength="200" required value="{{ values.title }}"{% if form.errors.title %} aria-invalid="true" aria-describedby="{{ ns }}-event-title-error"{% endif %}>
{% if form.errors.title %}<br><span id="{{ ns }}-event-title-error" class="field-error">{{ form.errors.title | join(" ") }}</span>{% endif %}</p>
{% if edited %}<p>{{ t("event-agenda") }} : {{ edited.agenda }}</p>{% else %}<p><label for="{{ ns }}-calendar">{{ t("event-agenda") }}</label><br>
<select id="{{ ns }}-calendar" name="calendar">{% for c in writable %}<option value="{{ c.id }}"{% if c.id == values.calendar %} selected{% endif %}>{{ c.name }}</option>{% endfor %}</select></p>{% endif %}
<p><label for="{{ ns }}-day">{{ t("event-day") }}</label><br>
<input type="date" id="{{ ns }}-day" name="day" required value="{{ values.day }}"{% if form.errors.day %} aria-invalid="true" aria-describedby="{{ ns }}-day-error"{% endif %}>
{% if form.errors.day %}<br><span id="{{ ns }}-day-error" class="field-error">{{ form.errors.day | join(" ") }}</span>{% endif %}</p>
<p><input type="checkbox" id="{{ ns }}-allday" name="all_day" value="oui"{% if values.all_day %} checked{% endif %}> <label for="{{ ns }}-allday">{{ t("all-day") }}</label></p>
<p><label for="{{ ns }}-start">{{ t("event-start") }}</label><br>
<input type="time" id="{{ ns }}-start" name="start" value="{{ values.start }}"{% if form.errors.start %} aria-invalid="true" aria-describedby="{{ ns }}-start-error"{% endif %}>
{% if form.errors.start %}<br><span id="{{ ns }}-start-error" class="field-error">{{ form.errors.start | join(" ") }}</span>{% endif %}</p>
<p><label for="{{ ns }}-end">{{ t("event-end") }}</label><br>
<input type="time" id="{{ ns }}-end" name="end" value="{{ values.end }}"{% if form.errors.end %} aria-invalid="true" aria-describedby="{{ ns }}-end-error"{% endif %}>
{% if form.errors.end %}<br><span id="{{ ns }}-end-error" class="field-error">{{ form.errors.end | join(" ") }}</span>{% endif %}</p>
{% if edited and edited.other_zone %}<p class="muted">{{ t("edit-zone", zone=edited.other_zone) }}</p>{% endif %}
<p><label for="{{ ns }}-last-day">{{ t("event-last-day") }}</label><br>
<input type="date" id="{{ ns }}-last-day" name="last_day" value="{{ values.last_day }}" aria-describedby="{{ ns }}-last-day-help{% if form.errors.last_day %} {{ ns }}-last-day-error{% endif %}"{% if form.errors.last_day %} aria-invalid="true"{% endif %}><br>
<span id="{{ ns }}-last-day-help" class="muted">{{ t("event-last-day-help") }}</span>
{% if form.errors.last_day %}<br><span id="{{ ns }}-last-day-error" class="field-error">{{ form.errors.last_day | join(" ") }}</span>{% endif %}</p>
<p><label for="{{ ns }}-location">{{ t("event-place") }}</label><br>
<input type="text" id="{{ ns }}-location" name="location" maxlength="200" value="{{ values.location }}"></p>
<p><label for="{{ ns }}-description">{{ t("event-description") }}</label><br>
<textarea id="{{ ns }}-description" name="description" rows="3" cols="40" maxlength="5000">{{ values.description }}</textarea></p>
<p><label for="{{ ns }}-repeat">{{ t("event-repeat") }}</label><br>
<select id="{{ ns }}-repeat" name="repeat">{% for r in repeats %}<option value="{{ r.value }}"{% if r.value == values.repeat %} selected{% endif %}>{{ r.label }}</option>{% endfor %}</select></p>
<p><label for="{{ ns }}-until">{{ t("event-until") }}</label><br>
<input type="date" id="{{ ns }}-until" name="until" value="{{ values.until }}" aria-describedby="{{ ns }}-until-help"><br>
<span id="{{ ns }}-until-help" class="muted">{{ t("event-until-help") }}</span></p>
<p><label for="{{ ns }}-reminder">{{ t("event-reminder") }}</label><br>
<select id="{{ ns }}-reminder" name="reminder">{% for r in reminders %}<option value="{{ r.value }}"{% if r.value == values.reminder %} selected{% endif %}>{{ r.label }}</option>{% endfor %}</select></p>
{% if edited and edited.files %}<fieldset><legend>{{ t("attachments") }}</legend>
<ul>{% for f in edited.files %}<li><a href="{{ f.url }}" download>{{ f.name }}</a> <input type="checkbox" id="{{ ns }}-remove-{{ loop.index }}" name="remove.{{ f.id }}" value="oui"{% if f.removed %} checked{% endif %}> <label for="{{ ns }}-remove-{{ loop.index }}">{{ t("attachment-remove") }}<span class="visually-hidden"> – {{ f.name }}</span></label></li>{% endfor %}</ul></fieldset>
{% endif %}<p><label for="{{ ns }}-attachment">{{ t("attachment-add") }}</label><br>
<input type="file" id="{{ ns }}-attachment" name="attachment" multiple aria-describedby="{{ ns }}-attachment-help{% if form.errors.attachment %} {{ ns }}-attachment-error{% endif %}"{% if form.errors.attachment %} aria-invalid="true"{% endif %}><br>
<span id="{{ ns }}-attachment-help" class="muted">{{ t("attachment-help", n=max_files) }}</span>
{% if form.errors.attachment %}<br><span id="{{ ns }}-attachment-error" class="field-error">{{ form.errors.attachment | join(" ") }}</span>{% endif %}</p>
{% if edited %}<p><button type="submit">{{ t("save") }}</button> <a href="{{ edited.cancel }}">{{ t("cancel") }}</a></p>{% else %}<p><button type="submit">{{ t("add") }}</button></p>{% endif %}
</form>{% else %}<p>{{ t("no-writable") }}</p>{% endif %}
<h3>{{ t("import-heading") }}</h3>
{% if writable %}<form method="post" action="{{ action }}" enctype="multipart/form-data">{{ csrf }}
<input type="hidden" name="op" value="import">
<p><label for="{{ ns }}-icalendar">{{ t("import-agenda") }}</label><br>
<select id="{{ ns }}-icalendar" name="calendar">{% for c in writable %}<option value="{{ c.id }}">{{ c.name }}</option>{% endfor %}</select></p>
<p><label for="{{ ns }}-file">{{ t("import-file") }}</label><br>
<input type="file" id="{{ ns }}-file" name="file" accept=".ics,text/calendar" required aria-describedby="{{ ns }}-file-help"><br>
<span id="{{ ns }}-file-help" class="muted">{{ t("import-help") }}</span></p>
<p><button type="submit">{{ t("import") }}</button></p>
</form>{% endif %}
<h3>{{ t("export-heading") }}</h3>
<table><caption>{{ t("export-caption") }}</caption>
<thead><tr><th scope="col">{{ t("col-agenda") }}</th><th scope="col">{{ t("export-file") }}</th><th scope="col">{{ t("subscription") }}</th></tr></thead>
<tbody>{% for c in calendars %}<tr><th scope="row">{{ c.name }}</th><td><a href="{{ c.export }}" download>{{ t("export-download") }}<span class="visually-hidden"> – {{ c.name }}</span></a></td><td>{% if c.feed %}<a href="{{ c.feed }}" rel="nofollow">{{ c.feed }}</a>
<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="token-revoke"><input type="hidden" name="calendar" value="{{ c.id }}"><button type="submit">{{ t("subscription-revoke") }}<span class="visually-hidden"> – {{ c.name }}</span></button></form>{% else %}<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="token-new"><input type="hidden" name="calendar" value="{{ c.id }}"><button type="submit">{{ t("subscription-new") }}<span class="visually-hidden"> – {{ c.name }}</span></button></form>{% endif %}</td></tr>
{% endfor %}</tbody></table>
<p class="muted">{{ t("subscription-help") }}</p>
<h3>{{ t("grants-heading") }}</h3>
<p>{{ t("grants-intro") }}</p>
{% if grants %}<ul>{% for g in grants %}<li>{{ g.label }} <form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="ungrant"><input type="hidden" name="grantee" value="{{ g.value }}"><button type="submit">{{ t("grant-remove") }}<span class="visually-hidden"> – {{ g.label }}</span></button></form></li>{% endfor %}</ul>{% endif %}
<form method="post" action="{{ action }}">{{ csrf }}<input type="hidden" name="op" value="grant">
<p><label for="{{ ns }}-grantee">{{ t("grant-who") }}</label><br>
<input type="text" id="{{ ns }}-grantee" name="grantee" maxlength="128" required aria-describedby="{{ ns }}-grantee-help"><br>
<span id="{{ ns }}-grantee-help" class="muted">{{ t("grant-help") }}</span></p>
<p><button type="submit">{{ t("grant-add") }}</button></p></form>
<h3>{{ t("sync-heading") }}</h3>
<p>{{ t("sync-help") }}</p>"#;

/// The help mode.
pub(crate) const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-views") }}</p>
<p>{{ t("help-share") }}</p>
<p>{{ t("help-sync") }}</p>"#;
