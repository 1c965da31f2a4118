//! The portlet's templates (auto-escaped: every `{{ … }}` is escaped unless it is markup
//! passed through `markup_value`). Their text is the crate's messages, `t("id")`, from
//! `locales/*.ftl`.

/// The view: search form, results, address book.
pub(crate) const VIEW: &str = r#"<h3 id="{{ ns }}-search-title">{{ t("search-title") }}</h3>
<form method="get" action="{{ search_url }}" role="search" aria-labelledby="{{ ns }}-search-title" class="annuaire-search">
{% if maximized %}<input type="hidden" name="state" value="maximized">{% endif %}
<p><label for="{{ ns }}-nom">{{ t("criterion-nom") }}</label><br>
<input type="search" id="{{ ns }}-nom" name="p.nom" value="{{ c.nom }}" maxlength="{{ max_len }}" aria-describedby="{{ ns }}-nom-help"><br>
<span id="{{ ns }}-nom-help" class="muted">{{ t("criterion-nom-help") }}</span></p>
<p><label for="{{ ns }}-classe">{{ t("criterion-classe") }}</label><br>
<input type="text" id="{{ ns }}-classe" name="p.classe" value="{{ c.classe }}" maxlength="{{ max_len }}"></p>
<p><label for="{{ ns }}-structure">{{ t("criterion-structure") }}</label><br>
<input type="text" id="{{ ns }}-structure" name="p.structure" value="{{ c.structure }}" maxlength="{{ max_len }}"></p>
<p><label for="{{ ns }}-profil">{{ t("criterion-profil") }}</label><br>
<select id="{{ ns }}-profil" name="p.profil">{% for o in profiles %}<option value="{{ o.value }}"{% if o.selected %} selected{% endif %}>{{ o.label }}</option>{% endfor %}</select></p>
<p><button type="submit">{{ t("search-submit") }}</button>{% if searched or problems %} <a href="{{ reset_url }}">{{ t("search-reset") }}</a>{% endif %}</p>
</form>
{% if problems %}<div class="error-box" role="alert"><p>{{ t("search-invalid") }}</p>
<ul>{% for p in problems %}<li>{{ p }}</li>{% endfor %}</ul></div>
{% endif %}{% if unavailable %}<p class="error-box" role="alert">{{ t("search-unavailable") }}</p>
{% endif %}{% if searched %}<h3>{{ t("results-title") }}</h3>
<p role="status">{{ count_text }}</p>
{% if truncated %}<p class="notice">{{ refine_text }}</p>
{% endif %}{% if rows %}<table class="annuaire-results">
<caption>{{ t("results-caption") }}</caption>
<thead><tr><th scope="col">{{ t("column-name") }}</th><th scope="col">{{ t("column-profiles") }}</th>{% for col in columns %}<th scope="col">{{ col }}</th>{% endfor %}<th scope="col">{{ t("column-carnet") }}</th></tr></thead>
<tbody>
{% for row in rows %}<tr><th scope="row">{{ row.name }}</th><td>{{ row.profiles }}</td>{% for cell in row.cells %}<td>{% for v in cell.values %}{% if v.href %}<a href="{{ v.href }}">{{ v.text }}</a>{% else %}{{ v.text }}{% endif %}{% if not loop.last %}, {% endif %}{% endfor %}{% if cell.hidden %} <span class="muted">{{ t("hidden-mark") }}</span>{% endif %}</td>{% endfor %}<td>{% if row.is_self %}{{ t("this-is-you") }}{% else %}<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="{% if row.in_carnet %}retirer{% else %}carnet{% endif %}"><input type="hidden" name="uid" value="{{ row.uid }}">{% for k in keep %}<input type="hidden" name="{{ k.name }}" value="{{ k.value }}">{% endfor %}<button type="submit">{% if row.in_carnet %}{{ t("carnet-remove") }}{% else %}{{ t("carnet-add") }}{% endif %}<span class="visually-hidden"> – {{ row.name }}</span></button></form>{% endif %}</td></tr>
{% endfor %}</tbody>
</table>
{% endif %}{% endif %}<h3>{{ t("carnet-title") }}</h3>
{% if carnet %}<ul class="annuaire-carnet">
{% for e in carnet %}<li>{{ e.name }}{% if e.missing %} <span class="muted">{{ t("carnet-missing") }}</span>{% endif %} <form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="retirer"><input type="hidden" name="uid" value="{{ e.uid }}">{% for k in keep %}<input type="hidden" name="{{ k.name }}" value="{{ k.value }}">{% endfor %}<button type="submit">{{ t("carnet-remove-short") }}<span class="visually-hidden"> – {{ e.name }}</span></button></form></li>
{% endfor %}</ul>
{% if more_url %}<p><a href="{{ more_url }}">{{ more_text }}</a></p>
{% endif %}{% else %}<p>{{ t("carnet-empty") }}</p>
{% endif %}<p><a href="{{ edit_url }}">{{ t("my-fields") }}</a></p>"#;

/// The edit mode: "Mes informations visibles", then what each profile sees.
pub(crate) const EDIT: &str = r#"{% if saved %}<p class="notice" role="status">{{ t("edit-saved") }}</p>
{% endif %}<h3>{{ t("my-fields") }}</h3>
<p>{{ t("edit-intro") }}</p>
{% if fields %}<form method="post" action="{{ action }}">{{ csrf }}<input type="hidden" name="op" value="visibilite">
<fieldset><legend>{{ t("edit-legend") }}</legend>
{% for f in fields %}<p><input type="checkbox" id="{{ ns }}-show-{{ f.name }}" name="show.{{ f.name }}" value="1"{% if f.shown %} checked{% endif %}> <label for="{{ ns }}-show-{{ f.name }}">{{ f.label }} : {{ f.value }}</label></p>
{% endfor %}</fieldset>
<p><button type="submit">{{ t("edit-save") }}</button></p>
</form>
{% else %}<p>{{ t("edit-nothing") }}</p>
{% endif %}<h3>{{ t("edit-rules") }}</h3>
<dl class="attrs">{% for r in rules %}<dt>{{ r.profile }}</dt><dd>{{ r.fields }}</dd>{% endfor %}</dl>
<p><a href="{{ view_url }}">{{ t("edit-back") }}</a></p>"#;

/// The help mode.
pub(crate) const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-search", max_results=max_results, max_length=max_length) }}</p>
<h4>{{ t("help-see-title") }}</h4>
<p>{{ t("help-see") }}</p>
<h4>{{ t("help-visible-title") }}</h4>
<p>{{ t("help-visible") }} <strong>{{ t("help-visible-admins") }}</strong>{{ t("help-visible-end") }}</p>
<h4>{{ t("help-carnet-title") }}</h4>
<p>{{ t("help-carnet", max_carnet=max_carnet) }}</p>"#;
