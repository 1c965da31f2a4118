//! The window's templates (minijinja, escaped by default; messages through `t`).

/// The home-page window: the newest items the reader may see, links to every
/// announcement and to the publishing form.
pub(crate) const WINDOW: &str = r#"{% if items %}<ul class="news">
{% for item in items %}<li>{% if item.pinned %}<strong class="badge">{{ t("pinned") }}</strong> {% endif %}{% if item.link %}<a href="{{ item.link }}">{{ item.title }}</a>{% else %}{{ item.title }}{% endif %}
<br><span class="muted">{{ item.source }} – <time datetime="{{ item.iso }}">{{ item.date }}</time></span></li>
{% endfor %}</ul>
{% else %}<p>{{ t("none") }}</p>{% endif %}
<p><a href="{{ all_url }}">{{ t("all-announcements") }}</a>{% if publisher %} · <a href="{{ all_url }}#{{ ns }}-publish">{{ t("publish-heading") }}</a>{% endif %}</p>"#;

/// The whole list (maximized, or after a refused form): the announcements, the
/// publishing (or editing) form, the private feed.
pub(crate) const LIST: &str = r#"{% if done %}<p class="notice" role="status">{{ done }}</p>
{% endif %}<h3>{{ t("list-heading") }}</h3>
{% if announcements %}{% for a in announcements %}<article id="{{ a.anchor }}" class="announcement" aria-labelledby="{{ a.anchor }}-title">
<h4 id="{{ a.anchor }}-title">{% if a.pinned %}<strong class="badge">{{ t("pinned") }}</strong> {% endif %}{{ a.title }}</h4>
<p class="muted">{% if a.author_name %}{{ a.author_name }} – {% endif %}{{ a.period }} – {{ t("for") }} {{ a.audience }}{% if a.status %} – <strong>{{ a.status }}</strong>{% endif %}</p>
{% for para in a.paragraphs %}<p>{% for line in para %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</p>
{% endfor %}{% if a.mine %}<p><a href="{{ a.edit_url }}">{{ t("edit") }}<span class="visually-hidden"> – {{ a.title }}</span></a></p>
<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="delete"><input type="hidden" name="id" value="{{ a.id }}"><button type="submit">{{ t("delete") }}<span class="visually-hidden"> – {{ a.title }}</span></button></form>
{% endif %}</article>
{% endfor %}{% else %}<p>{{ t("no-announcements") }}</p>{% endif %}
{% if publisher %}<h3 id="{{ ns }}-publish">{% if editing %}{{ t("edit-heading") }}{% else %}{{ t("publish-heading") }}{% endif %}</h3>
<form method="post" action="{{ action }}" class="announcement-form">{{ csrf }}
<input type="hidden" name="op" value="{% if editing %}update{% else %}publish{% endif %}">
{% if editing %}<input type="hidden" name="id" value="{{ editing.id }}"><input type="hidden" name="version" value="{{ editing.version }}">{% endif %}
{% if form.general %}<p class="field-error" role="alert">{{ form.general | join(" ") }}</p>{% endif %}
<p><label for="{{ ns }}-f-title">{{ t("announcement-title") }}</label><br>
<input type="text" id="{{ ns }}-f-title" name="title" maxlength="{{ max_title }}" required value="{{ values.title }}"{% if form.errors.title %} aria-invalid="true" aria-describedby="{{ ns }}-f-title-error"{% endif %}>
{% if form.errors.title %}<br><span id="{{ ns }}-f-title-error" class="field-error">{{ form.errors.title | join(" ") }}</span>{% endif %}</p>
<p><label for="{{ ns }}-f-body">{{ t("announcement-body") }}</label><br>
<textarea id="{{ ns }}-f-body" name="body" rows="6" cols="40" maxlength="{{ max_body }}" aria-describedby="{{ ns }}-f-body-help{% if form.errors.body %} {{ ns }}-f-body-error{% endif %}"{% if form.errors.body %} aria-invalid="true"{% endif %}>{{ values.body }}</textarea><br>
<span id="{{ ns }}-f-body-help" class="muted">{{ t("body-help", max=max_body) }}</span>
{% if form.errors.body %}<br><span id="{{ ns }}-f-body-error" class="field-error">{{ form.errors.body | join(" ") }}</span>{% endif %}</p>
<p><label for="{{ ns }}-f-audience">{{ t("audience") }}</label><br>
<select id="{{ ns }}-f-audience" name="audience"{% if form.errors.audience %} aria-invalid="true" aria-describedby="{{ ns }}-f-audience-error"{% endif %}>
{% for a in audiences %}<option value="{{ a.value }}"{% if a.value == values.audience %} selected{% endif %}>{{ a.label }}</option>
{% endfor %}{% if classes %}<optgroup label="{{ t("my-classes") }}">
{% for c in classes %}<option value="{{ c.value }}"{% if c.value == values.audience %} selected{% endif %}>{{ c.label }}</option>
{% endfor %}</optgroup>{% endif %}{% if groups %}<optgroup label="{{ t("my-groups") }}">
{% for g in groups %}<option value="{{ g.value }}"{% if g.value == values.audience %} selected{% endif %}>{{ g.label }}</option>
{% endfor %}</optgroup>{% endif %}{% if any_class %}<option value="c:*"{% if values.audience == "c:*" %} selected{% endif %}>{{ t("audience-other-class") }}</option>
{% endif %}</select>
{% if form.errors.audience %}<br><span id="{{ ns }}-f-audience-error" class="field-error">{{ form.errors.audience | join(" ") }}</span>{% endif %}</p>
{% if any_class %}<p><label for="{{ ns }}-f-class">{{ t("class-code") }}</label><br>
<input type="text" id="{{ ns }}-f-class" name="class" maxlength="64" value="{{ values.class }}" aria-describedby="{{ ns }}-f-class-help{% if form.errors.class %} {{ ns }}-f-class-error{% endif %}"{% if form.errors.class %} aria-invalid="true"{% endif %}><br>
<span id="{{ ns }}-f-class-help" class="muted">{{ t("class-code-help") }}</span>
{% if form.errors.class %}<br><span id="{{ ns }}-f-class-error" class="field-error">{{ form.errors.class | join(" ") }}</span>{% endif %}</p>
{% endif %}<fieldset><legend>{{ t("period") }}</legend>
<p><label for="{{ ns }}-f-from">{{ t("shown-from") }}</label><br>
<input type="date" id="{{ ns }}-f-from" name="from" required value="{{ values.from }}"{% if form.errors.from %} aria-invalid="true" aria-describedby="{{ ns }}-f-from-error"{% endif %}>
{% if form.errors.from %}<br><span id="{{ ns }}-f-from-error" class="field-error">{{ form.errors.from | join(" ") }}</span>{% endif %}</p>
<p><label for="{{ ns }}-f-until">{{ t("shown-until") }}</label><br>
<input type="date" id="{{ ns }}-f-until" name="until" value="{{ values.until }}" aria-describedby="{{ ns }}-f-until-help{% if form.errors.until %} {{ ns }}-f-until-error{% endif %}"{% if form.errors.until %} aria-invalid="true"{% endif %}><br>
<span id="{{ ns }}-f-until-help" class="muted">{{ t("shown-until-help") }}</span>
{% if form.errors.until %}<br><span id="{{ ns }}-f-until-error" class="field-error">{{ form.errors.until | join(" ") }}</span>{% endif %}</p>
</fieldset>
<p><input type="checkbox" id="{{ ns }}-f-pinned" name="pinned" value="oui"{% if values.pinned %} checked{% endif %}>
<label for="{{ ns }}-f-pinned">{{ t("pin") }}</label></p>
<p><button type="submit">{% if editing %}{{ t("save") }}{% else %}{{ t("publish") }}{% endif %}</button>{% if editing %} <a href="{{ all_url }}">{{ t("cancel") }}</a>{% endif %}</p>
</form>{% endif %}
{{ feed }}"#;

/// The private feed: its URL, a new one, revoking it.
pub(crate) const FEED: &str = r#"<h3 class="news-feed">{{ t("feed-heading") }}</h3>
{% if feed_url %}<p>{{ t("feed-intro") }}</p>
<p><a href="{{ feed_url }}" rel="nofollow" class="feed-url">{{ feed_url }}</a></p>
<p class="muted">{{ t("feed-secret") }}</p>
<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="feed-new"><button type="submit">{{ t("feed-new") }}</button></form>
<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="feed-revoke"><button type="submit">{{ t("feed-revoke") }}</button></form>
{% else %}<p>{{ t("feed-none") }}</p>
<form method="post" action="{{ action }}">{{ csrf }}<input type="hidden" name="op" value="feed-new"><button type="submit">{{ t("feed-create") }}</button></form>
{% endif %}"#;

/// The e-mail digest opt-in, under the preferences in edit mode.
pub(crate) const DIGEST: &str = r#"{% if saved %}<p class="notice" role="status">{{ saved }}</p>
{% endif %}<form method="post" action="{{ action }}" class="digest">{{ csrf }}
<input type="hidden" name="op" value="digest">
<fieldset><legend>{{ t("digest-legend") }}</legend>
<p><input type="checkbox" id="{{ ns }}-digest" name="digest" value="oui"{% if opted_in %} checked{% endif %}{% if mail %} aria-describedby="{{ ns }}-digest-to"{% else %} aria-describedby="{{ ns }}-digest-none"{% endif %}>
<label for="{{ ns }}-digest">{{ t("digest-label") }}</label></p>
{% if mail %}<p id="{{ ns }}-digest-to" class="muted">{{ t("digest-to") }} {{ mail }}</p>
{% else %}<p id="{{ ns }}-digest-none" class="muted">{{ t("digest-no-mail") }}</p>
{% endif %}<p><button type="submit">{{ t("digest-save") }}</button></p>
</fieldset></form>
{{ feed }}"#;

/// The help mode.
pub(crate) const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-news") }}</p>
<p>{{ t("help-publish") }}</p>
<p>{{ t("help-feed") }}</p>
<p>{{ t("help-digest") }}</p>"#;
