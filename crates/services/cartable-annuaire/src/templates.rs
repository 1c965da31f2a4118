//! The portlet's templates (auto-escaped: every `{{ … }}` is escaped unless it is markup
//! passed through `markup_value`).

/// The view: search form, results, address book.
pub(crate) const VIEW: &str = r#"<h3 id="{{ ns }}-search-title">{{ t.search }}</h3>
<form method="get" action="{{ search_url }}" role="search" aria-labelledby="{{ ns }}-search-title" class="annuaire-search">
{% if maximized %}<input type="hidden" name="state" value="maximized">{% endif %}
<p><label for="{{ ns }}-nom">{{ t.nom }}</label><br>
<input type="search" id="{{ ns }}-nom" name="p.nom" value="{{ c.nom }}" maxlength="{{ max_len }}" aria-describedby="{{ ns }}-nom-help"><br>
<span id="{{ ns }}-nom-help" class="muted">{{ t.nom_help }}</span></p>
<p><label for="{{ ns }}-classe">{{ t.classe }}</label><br>
<input type="text" id="{{ ns }}-classe" name="p.classe" value="{{ c.classe }}" maxlength="{{ max_len }}"></p>
<p><label for="{{ ns }}-structure">{{ t.structure }}</label><br>
<input type="text" id="{{ ns }}-structure" name="p.structure" value="{{ c.structure }}" maxlength="{{ max_len }}"></p>
<p><label for="{{ ns }}-profil">{{ t.profil }}</label><br>
<select id="{{ ns }}-profil" name="p.profil">{% for o in profiles %}<option value="{{ o.value }}"{% if o.selected %} selected{% endif %}>{{ o.label }}</option>{% endfor %}</select></p>
<p><button type="submit">{{ t.submit }}</button>{% if searched or problems %} <a href="{{ reset_url }}">{{ t.reset }}</a>{% endif %}</p>
</form>
{% if problems %}<div class="error-box" role="alert"><p>{{ t.invalid }}</p>
<ul>{% for p in problems %}<li>{{ p }}</li>{% endfor %}</ul></div>
{% endif %}{% if unavailable %}<p class="error-box" role="alert">{{ t.unavailable }}</p>
{% endif %}{% if searched %}<h3>{{ t.results }}</h3>
<p role="status">{{ count_text }}</p>
{% if truncated %}<p class="notice">{{ refine_text }}</p>
{% endif %}{% if rows %}<table class="annuaire-results">
<caption>{{ caption }}</caption>
<thead><tr><th scope="col">{{ t.name }}</th><th scope="col">{{ t.profiles }}</th>{% for col in columns %}<th scope="col">{{ col }}</th>{% endfor %}<th scope="col">{{ t.carnet_col }}</th></tr></thead>
<tbody>
{% for row in rows %}<tr><th scope="row">{{ row.name }}</th><td>{{ row.profiles }}</td>{% for cell in row.cells %}<td>{% for v in cell.values %}{% if v.href %}<a href="{{ v.href }}">{{ v.text }}</a>{% else %}{{ v.text }}{% endif %}{% if not loop.last %}, {% endif %}{% endfor %}{% if cell.hidden %} <span class="muted">{{ t.hidden_mark }}</span>{% endif %}</td>{% endfor %}<td>{% if row.is_self %}{{ t.you }}{% else %}<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="{% if row.in_carnet %}retirer{% else %}carnet{% endif %}"><input type="hidden" name="uid" value="{{ row.uid }}">{% for k in keep %}<input type="hidden" name="{{ k.name }}" value="{{ k.value }}">{% endfor %}<button type="submit">{% if row.in_carnet %}{{ t.remove }}{% else %}{{ t.add }}{% endif %}<span class="visually-hidden"> – {{ row.name }}</span></button></form>{% endif %}</td></tr>
{% endfor %}</tbody>
</table>
{% endif %}{% endif %}<h3>{{ t.carnet }}</h3>
{% if carnet %}<ul class="annuaire-carnet">
{% for e in carnet %}<li>{{ e.name }}{% if e.missing %} <span class="muted">{{ t.missing }}</span>{% endif %} <form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="retirer"><input type="hidden" name="uid" value="{{ e.uid }}">{% for k in keep %}<input type="hidden" name="{{ k.name }}" value="{{ k.value }}">{% endfor %}<button type="submit">{{ t.remove_short }}<span class="visually-hidden"> – {{ e.name }}</span></button></form></li>
{% endfor %}</ul>
{% if more_url %}<p><a href="{{ more_url }}">{{ more_text }}</a></p>
{% endif %}{% else %}<p>{{ t.carnet_empty }}</p>
{% endif %}<p><a href="{{ edit_url }}">{{ t.my_fields }}</a></p>"#;

/// The edit mode: "Mes informations visibles", then what each profile sees.
pub(crate) const EDIT: &str = r#"{% if saved %}<p class="notice" role="status">{{ t.saved }}</p>
{% endif %}<h3>{{ t.title }}</h3>
<p>{{ t.intro }}</p>
{% if fields %}<form method="post" action="{{ action }}">{{ csrf }}<input type="hidden" name="op" value="visibilite">
<fieldset><legend>{{ t.legend }}</legend>
{% for f in fields %}<p><input type="checkbox" id="{{ ns }}-show-{{ f.name }}" name="show.{{ f.name }}" value="1"{% if f.shown %} checked{% endif %}> <label for="{{ ns }}-show-{{ f.name }}">{{ f.label }} : {{ f.value }}</label></p>
{% endfor %}</fieldset>
<p><button type="submit">{{ t.save }}</button></p>
</form>
{% else %}<p>{{ t.nothing }}</p>
{% endif %}<h3>{{ t.rules }}</h3>
<dl class="attrs">{% for r in rules %}<dt>{{ r.profile }}</dt><dd>{{ r.fields }}</dd>{% endfor %}</dl>
<p><a href="{{ view_url }}">{{ t.back }}</a></p>"#;

pub(crate) const HELP_FR: &str = r#"<h3>L’annuaire (pages blanches)</h3>
<p>Cherchez une personne de l’établissement par son nom (ou une partie de son nom, sans
vous soucier des accents ni des majuscules), par sa classe, par le code UAI de son
établissement ou par son profil. Les critères se combinent. Au plus 50 personnes sont
affichées : si davantage correspondent, précisez votre recherche. Chaque champ accepte
100 caractères au plus. Une recherche est une simple adresse : vous pouvez la garder
dans vos favoris.</p>
<h4>Ce que vous voyez</h4>
<p>Le nom et les profils de chaque personne sont toujours affichés. Les autres
informations (courriel, téléphone, classe…) dépendent de votre profil, selon les règles
fixées par l’établissement : par défaut, les élèves et les parents ne voient pas les
numéros de téléphone, que seuls les personnels et les administrateurs voient.
L’établissement peut aussi limiter les personnes qu’un profil peut trouver. Si vous avez
plusieurs profils, vous voyez tout ce que chacun d’eux permet de voir.</p>
<h4>Mes informations visibles</h4>
<p>Dans « Mes informations visibles », décochez les informations vous concernant que vous
ne voulez pas montrer aux autres utilisateurs. Vous les voyez toujours vous-même, marquées
« masqué aux autres ». Une personne ne peut pas vous trouver par une information que vous
avez masquée (par exemple votre classe). <strong>Les administrateurs de l’ENT voient
toujours toutes les informations</strong>, y compris celles que vous avez masquées.</p>
<h4>Mon carnet d’adresses</h4>
<p>Le bouton « Ajouter au carnet » d’un résultat met la personne dans votre carnet
d’adresses (500 personnes au plus) ; « Retirer » l’en enlève. Votre carnet n’est visible
que par vous.</p>"#;

pub(crate) const HELP_EN: &str = r#"<h3>The directory (white pages)</h3>
<p>Find someone in the school by name (or part of it; accents and case do not matter),
by class, by the UAI code of their school or by profile. Criteria combine. At most 50
people are shown: if more match, narrow your search. Each field accepts at most 100
characters. A search is a plain address: you can bookmark it.</p>
<h4>What you see</h4>
<p>Everyone’s name and profiles are always shown. Other details (email, telephone,
class…) depend on your profile, following the school’s rules: by default, pupils and
parents do not see telephone numbers, which only staff and administrators see. The school
may also limit whom a profile can find. If you hold several profiles, you see everything
any of them allows.</p>
<h4>My visible details</h4>
<p>In “My visible details”, untick the details about you that other users should not see.
You still see them yourself, marked “hidden from others”. Nobody can find you through a
detail you hid (your class, for instance). <strong>The ENT’s administrators always see
every detail</strong>, including the ones you hid.</p>
<h4>My address book</h4>
<p>The “Add to address book” button of a result puts the person in your address book (at
most 500 people); “Remove” takes them out. Only you can see your address book.</p>"#;
