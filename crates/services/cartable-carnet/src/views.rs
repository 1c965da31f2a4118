//! The window's pages. Which one is shown is said by the render parameters:
//!
//! | parameters | page |
//! |---|---|
//! | none | her own book |
//! | `carnet=g:<id>` | the book of a group of hers |
//! | `vue=tout` | « Tout »: her book and the group books she chose, together |
//! | `vue=partages` | the entries shared with her |
//! | `fiche=<book>/<n>` | one entry (edited, shared, copied or removed from there) |
//! | `nouveau=<book>` | the form of a new contact |
//! | `supprimer=<book>/<n>` | the confirmation of a removal |
//! | `annuaire=<text>` (+ `carnet`) | people of the directory to add |

use cartable_portlet::prelude::*;
use cartable_portlet::recipients::RecipientKind;
use serde::Serialize;

use crate::books::{Access, Shown, resolve, resolve_all};
use crate::model::{Book, MAX_FIELD_LEN, MAX_LONG_FIELD_LEN};
use crate::{MESSAGES, store};

/// The template of every page of the window (one, so that the établissement's theme
/// overrides it whole).
pub(crate) const VIEW: &str = r#"{% macro fields_form(f, ns) %}<p><label for="{{ ns }}-nom">{{ t("field-nom") }}</label><br>
<input type="text" id="{{ ns }}-nom" name="nom" value="{{ f.nom }}" maxlength="{{ max_field }}" autocomplete="family-name"></p>
<p><label for="{{ ns }}-prenom">{{ t("field-prenom") }}</label><br>
<input type="text" id="{{ ns }}-prenom" name="prenom" value="{{ f.prenom }}" maxlength="{{ max_field }}" autocomplete="given-name"></p>
<p><label for="{{ ns }}-fonction">{{ t("field-fonction") }}</label><br>
<input type="text" id="{{ ns }}-fonction" name="fonction" value="{{ f.fonction }}" maxlength="{{ max_field }}" autocomplete="organization-title"></p>
<p><label for="{{ ns }}-institution">{{ t("field-institution") }}</label><br>
<input type="text" id="{{ ns }}-institution" name="institution" value="{{ f.institution }}" maxlength="{{ max_field }}" autocomplete="organization"></p>
<p><label for="{{ ns }}-adresse">{{ t("field-adresse") }}</label><br>
<textarea id="{{ ns }}-adresse" name="adresse" rows="3" maxlength="{{ max_long }}" autocomplete="street-address">{{ f.adresse }}</textarea></p>
<p><label for="{{ ns }}-telephone">{{ t("field-telephone") }}</label><br>
<input type="tel" id="{{ ns }}-telephone" name="telephone" value="{{ f.telephone }}" maxlength="{{ max_field }}" autocomplete="tel"></p>
<p><label for="{{ ns }}-courriel">{{ t("field-courriel") }}</label><br>
<input type="email" id="{{ ns }}-courriel" name="courriel" value="{{ f.courriel }}" maxlength="{{ max_field }}" autocomplete="email"></p>
<p><label for="{{ ns }}-note">{{ t("field-note") }}</label><br>
<textarea id="{{ ns }}-note" name="note" rows="3" maxlength="{{ max_long }}">{{ f.note }}</textarea></p>{% endmacro %}
<nav aria-label="{{ t("books") }}"><ul class="tabs">
{% for b in books %}<li><a href="{{ b.url }}"{% if b.current %} aria-current="page"{% endif %}>{{ b.name }}</a></li>
{% endfor %}</ul></nav>
{% if notice %}<p class="notice" role="status">{{ notice }}</p>
{% endif %}
{%- if view == "list" %}<h3 id="{{ ns }}-heading">{{ heading }}</h3>
{% if rows %}<table class="carnet">
<caption class="visually-hidden">{{ heading }}</caption>
<thead><tr><th scope="col">{{ t("col-name") }}</th><th scope="col">{{ t("field-fonction") }}</th><th scope="col">{{ t("field-institution") }}</th><th scope="col">{{ t("field-telephone") }}</th><th scope="col">{{ t("field-courriel") }}</th>{% if show_origin %}<th scope="col">{{ t("col-book") }}</th>{% endif %}</tr></thead>
<tbody>
{% for r in rows %}<tr><th scope="row"><a href="{{ r.url }}">{{ r.name }}</a>{% if r.person %} <span class="muted">({{ t("from-directory") }})</span>{% endif %}{% if r.gone %} <span class="muted">– {{ t("gone") }}</span>{% endif %}</th><td>{{ r.fonction }}</td><td>{{ r.institution }}</td><td>{% if r.telephone %}<a href="tel:{{ r.telephone }}">{{ r.telephone }}</a>{% endif %}</td><td>{% if r.courriel %}<a href="mailto:{{ r.courriel }}">{{ r.courriel }}</a>{% endif %}</td>{% if show_origin %}<td>{{ r.origin }}</td>{% endif %}</tr>
{% endfor %}</tbody></table>
{% else %}<p>{{ empty }}</p>{% endif %}
{% if writable %}<p><a href="{{ new_url }}">{{ t("new-contact") }}</a></p>
<form method="get" action="{{ search_action }}">{% for k in search_hidden %}<input type="hidden" name="{{ k[0] }}" value="{{ k[1] }}">{% endfor %}
<p><label for="{{ ns }}-annuaire">{{ t("search-directory") }}</label><br>
<input type="search" id="{{ ns }}-annuaire" name="p.annuaire" maxlength="100" required>
<button type="submit">{{ t("search") }}</button></p>
</form>
{% endif %}{% if consolidation %}<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="consolidate">
<fieldset><legend>{{ t("consolidate") }}</legend>
{% for g in consolidation %}<p><input type="checkbox" id="{{ ns }}-c-{{ loop.index }}" name="g.{{ g.id }}" value="1"{% if g.on %} checked{% endif %}> <label for="{{ ns }}-c-{{ loop.index }}">{{ g.name }}</label></p>
{% endfor %}<p><button type="submit">{{ t("save") }}</button></p></fieldset>
</form>
{% endif %}{% if exports %}{% if maximized %}<h4>{{ t("import-export") }}</h4>
<ul>
{% for e in exports %}<li><a href="{{ e.url }}">{{ e.label }}</a></li>
{% endfor %}</ul>
{% if writable %}<form method="post" action="{{ action }}" enctype="multipart/form-data">{{ csrf }}
<input type="hidden" name="op" value="import"><input type="hidden" name="carnet" value="{{ book }}">
<p><label for="{{ ns }}-file">{{ t("import-file") }}</label><br>
<input type="file" id="{{ ns }}-file" name="file" accept=".vcf,.vcard,.ldif,text/vcard,text/x-vcard" required aria-describedby="{{ ns }}-file-help"><br>
<span id="{{ ns }}-file-help" class="muted">{{ t("import-help") }}</span></p>
<p><button type="submit">{{ t("import") }}</button></p>
</form>
{% endif %}{% else %}<p><a href="{{ maximize_url }}">{{ t("import-export") }}<span class="visually-hidden"> – {{ heading }}</span></a></p>
{% endif %}{% endif %}
{%- elif view == "search" %}<h3>{{ t("search-directory") }}</h3>
<p>{{ found_text }}</p>
{% if people %}<ul>
{% for p in people %}<li>{{ p.label }}{% if p.detail %} <span class="muted">– {{ p.detail }}</span>{% endif %}
{% if p.added %}<span class="muted"> ({{ t("already-added") }})</span>{% else %}<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="add-person"><input type="hidden" name="carnet" value="{{ book }}"><input type="hidden" name="person" value="{{ p.uid }}"><button type="submit">{{ t("add") }}<span class="visually-hidden"> – {{ p.label }}</span></button></form>{% endif %}</li>
{% endfor %}</ul>
{% endif %}<p><a href="{{ back_url }}">{{ t("back") }}</a></p>
{%- elif view == "new" %}<h3>{{ t("new-contact") }} – {{ book_name }}</h3>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="add"><input type="hidden" name="carnet" value="{{ book }}">
{{ fields_form(form, ns) }}
<p><button type="submit">{{ t("add") }}</button> <a href="{{ back_url }}">{{ t("cancel") }}</a></p>
</form>
{%- elif view == "entry" %}<h3>{{ entry.name }}</h3>
{% if entry.person %}<p class="muted">{{ t("person-help") }}</p>{% endif %}
{% if entry.gone %}<p>{{ t("gone-help") }}</p>{% endif %}
{% if editable %}<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="edit"><input type="hidden" name="carnet" value="{{ book }}"><input type="hidden" name="id" value="{{ entry.id }}">
{{ fields_form(form, ns) }}
<p><button type="submit">{{ t("save") }}</button> <a href="{{ back_url }}">{{ t("cancel") }}</a></p>
</form>
{% else %}<dl>
{% for d in details %}<dt>{{ d[0] }}</dt><dd>{{ d[1] }}</dd>
{% endfor %}</dl>
{% endif %}{% if shares is not none %}<h4>{{ t("sharing") }}</h4>
{% if shares %}<ul>
{% for s in shares %}<li>{{ s.label }}
<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="unshare"><input type="hidden" name="id" value="{{ entry.id }}"><input type="hidden" name="kind" value="{{ s.kind }}"><input type="hidden" name="target" value="{{ s.target }}"><button type="submit">{{ t("unshare") }}<span class="visually-hidden"> – {{ s.label }}</span></button></form></li>
{% endfor %}</ul>
{% else %}<p>{{ t("not-shared") }}</p>{% endif %}
{% if groups %}<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="share"><input type="hidden" name="id" value="{{ entry.id }}"><input type="hidden" name="kind" value="group">
<p><label for="{{ ns }}-share-group">{{ t("share-group") }}</label><br>
<select id="{{ ns }}-share-group" name="target">
{% for g in groups %}<option value="{{ g[0] }}">{{ g[1] }}</option>
{% endfor %}</select>
<button type="submit">{{ t("share") }}</button></p>
</form>
{% endif %}<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="share"><input type="hidden" name="id" value="{{ entry.id }}"><input type="hidden" name="kind" value="user">
<p><label for="{{ ns }}-share-user">{{ t("share-user") }}</label><br>
<input type="text" id="{{ ns }}-share-user" name="target" required autocomplete="off">
<button type="submit">{{ t("share") }}</button></p>
</form>
{% endif %}{% if copy_to %}<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="copy"><input type="hidden" name="carnet" value="{{ book }}"><input type="hidden" name="id" value="{{ entry.id }}">
<p><label for="{{ ns }}-copy-to">{{ t("copy-to") }}</label><br>
<select id="{{ ns }}-copy-to" name="vers">
{% for b in copy_to %}<option value="{{ b[0] }}">{{ b[1] }}</option>
{% endfor %}</select>
<button type="submit">{{ t("copy") }}</button></p>
</form>
{% endif %}{% if delete_url %}<p><a href="{{ delete_url }}">{{ t("delete") }}</a></p>
{% endif %}<p><a href="{{ back_url }}">{{ t("back") }}</a></p>
{%- elif view == "delete" %}<h3>{{ t("delete") }}</h3>
<p>{{ question }}</p>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="remove"><input type="hidden" name="carnet" value="{{ book }}"><input type="hidden" name="id" value="{{ id }}"><input type="hidden" name="confirm" value="yes">
<p><button type="submit">{{ t("confirm-delete") }}</button> <a href="{{ back_url }}">{{ t("cancel") }}</a></p>
</form>
{%- endif %}"#;

/// The data key of the groups she left out of « Tout » (a JSON list of group ids).
pub(crate) const CONSOLIDATION_KEY: &str = "consolidation/exclus";

/// A render URL of the window in its state, with parameters.
pub(crate) fn url(ctx: &PortletContext, params: &[(&str, &str)]) -> String {
    let mut u = ctx.urls().render();
    if ctx.window().state == WindowState::Maximized {
        u = u.state(WindowState::Maximized);
    }
    for (k, v) in params {
        u = u.param(k, v);
    }
    format!("{u}#{}", ctx.window().namespace())
}

/// The page of a book.
pub(crate) fn book_url(ctx: &PortletContext, book: &Book) -> String {
    match book {
        Book::User(u) if *u == ctx.user().id => url(ctx, &[]),
        other => url(ctx, &[("carnet", &other.key())]),
    }
}

/// An entry's reference in parameters: `<book>/<n>`.
pub(crate) fn entry_ref(book: &Book, id: u64) -> String {
    format!("{}/{id}", book.key())
}

/// Read `<book>/<n>`.
pub(crate) fn parse_ref(text: &str) -> Option<(Book, u64)> {
    let (book, id) = text.rsplit_once('/')?;
    Some((Book::parse(book)?, id.parse().ok()?))
}

/// The action URL, keeping the state.
pub(crate) fn action_url(ctx: &PortletContext) -> String {
    let mut u = ctx.urls().action();
    if ctx.window().state == WindowState::Maximized {
        u = u.state(WindowState::Maximized);
    }
    u.to_string()
}

#[derive(Debug, Serialize)]
struct Tab {
    name: String,
    url: String,
    current: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    url: String,
    person: bool,
    gone: bool,
    fonction: String,
    institution: String,
    telephone: String,
    courriel: String,
    origin: String,
}

/// Which list is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Current {
    Book(Book),
    All,
    Shared,
}

fn tabs(ctx: &PortletContext, access: &Access, current: &Current) -> Vec<Tab> {
    let mut out = vec![Tab {
        name: ctx.t(&MESSAGES, "my-book"),
        url: url(ctx, &[]),
        current: *current == Current::Book(access.own()),
    }];
    for (id, name, _) in &access.tool_groups {
        let book = Book::Group(id.clone());
        out.push(Tab {
            name: ctx.t_args(&MESSAGES, "group-book", &args! { "group" => name.as_str() }),
            url: book_url(ctx, &book),
            current: *current == Current::Book(book),
        });
    }
    if !access.tool_groups.is_empty() {
        out.push(Tab {
            name: ctx.t(&MESSAGES, "all-books"),
            url: url(ctx, &[("vue", "tout")]),
            current: *current == Current::All,
        });
    }
    out.push(Tab {
        name: ctx.t(&MESSAGES, "shared-with-me"),
        url: url(ctx, &[("vue", "partages")]),
        current: *current == Current::Shared,
    });
    out
}

fn book_name(ctx: &PortletContext, access: &Access, book: &Book) -> String {
    match book {
        Book::User(u) if *u == access.me => ctx.t(&MESSAGES, "my-book"),
        Book::User(u) => u.clone(),
        Book::Group(g) => ctx.t_args(
            &MESSAGES,
            "group-book",
            &args! { "group" => access.group_name(g).unwrap_or(g) },
        ),
    }
}

fn row(ctx: &PortletContext, s: &Shown, origin: String) -> Row {
    Row {
        name: s.fields.display_name(),
        url: url(ctx, &[("fiche", &entry_ref(&s.entry.book, s.entry.id))]),
        person: s.entry.person.is_some(),
        gone: s.gone,
        fonction: s.fields.fonction.clone(),
        institution: s.fields.institution.clone(),
        telephone: s.fields.telephone.clone(),
        courriel: s.fields.courriel.clone(),
        origin,
    }
}

/// The common parts of every page.
fn base(
    ctx: &PortletContext,
    access: &Access,
    current: &Current,
) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    let tabs = tabs(ctx, access, current);
    m.insert(
        "books".into(),
        serde_json::to_value(tabs).unwrap_or_default(),
    );
    m.insert("ns".into(), ctx.window().namespace().into());
    m.insert("action".into(), action_url(ctx).into());
    m.insert("max_field".into(), MAX_FIELD_LEN.into());
    m.insert("max_long".into(), MAX_LONG_FIELD_LEN.into());
    m.insert(
        "maximized".into(),
        (ctx.window().state == WindowState::Maximized).into(),
    );
    m.insert(
        "notice".into(),
        ctx.param("fait")
            .map(|_| ctx.t(&MESSAGES, "saved"))
            .or_else(|| ctx.param("importe").map(str::to_string))
            .into(),
    );
    m
}

fn finish(
    templates: &Templates,
    ctx: &PortletContext,
    m: serde_json::Map<String, serde_json::Value>,
) -> Result<RenderResponse, PortletError> {
    let csrf = cartable_portlet::markup_value(&ctx.csrf_field());
    let value = minijinja::context! { csrf => csrf, ..minijinja::Value::from(minijinja::value::Serde(serde_json::Value::Object(m))) };
    Ok(templates.render_for(ctx, "view", value)?.into())
}

/// Render the page the parameters ask for.
pub(crate) async fn render(
    templates: &Templates,
    ctx: &PortletContext,
) -> Result<RenderResponse, PortletError> {
    // Her groups before any connection is taken (the socle's storage may share the pool).
    let access = Access::of(ctx).await?;
    let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
    if let Some(r) = ctx.param("fiche") {
        let (book, id) = parse_ref(r).ok_or_else(not_found)?;
        return entry_page(templates, ctx, &access, &book, id).await;
    }
    if let Some(r) = ctx.param("supprimer") {
        let (book, id) = parse_ref(r).ok_or_else(not_found)?;
        return delete_page(templates, ctx, &access, &book, id).await;
    }
    if let Some(key) = ctx.param("nouveau") {
        let book = Book::parse(key).ok_or_else(not_found)?;
        if !access.may_write(&book) {
            return Err(not_found());
        }
        let mut m = base(ctx, &access, &Current::Book(book.clone()));
        m.insert("view".into(), "new".into());
        m.insert("book".into(), book.key().into());
        m.insert("book_name".into(), book_name(ctx, &access, &book).into());
        m.insert("form".into(), form_values(ctx, &crate::Fields::default()));
        m.insert("back_url".into(), book_url(ctx, &book).into());
        return finish(templates, ctx, m);
    }
    let current = match (ctx.param("vue"), ctx.param("carnet")) {
        (Some("tout"), _) => Current::All,
        (Some("partages"), _) => Current::Shared,
        (_, Some(key)) => Current::Book(Book::parse(key).ok_or_else(not_found)?),
        _ => Current::Book(access.own()),
    };
    if let Current::Book(book) = &current
        && !access.may_read(book)
    {
        tracing::info!(user = %ctx.user().id, book = %book, "carnet page refused");
        return Err(not_found());
    }
    if let Some(text) = ctx.param("annuaire") {
        let book = match &current {
            Current::Book(b) => b.clone(),
            _ => access.own(),
        };
        return search_page(templates, ctx, &access, &book, text).await;
    }
    list_page(templates, ctx, &access, current).await
}

/// The form's values: what the refused form held, else `f`.
fn form_values(ctx: &PortletContext, f: &crate::Fields) -> serde_json::Value {
    let v = |name: &str, d: &str| ctx.form_value(name, d).to_string();
    serde_json::json!({
        "nom": v("nom", &f.nom),
        "prenom": v("prenom", &f.prenom),
        "fonction": v("fonction", &f.fonction),
        "institution": v("institution", &f.institution),
        "adresse": v("adresse", &f.adresse),
        "telephone": v("telephone", &f.telephone),
        "courriel": v("courriel", &f.courriel),
        "note": v("note", &f.note),
    })
}

async fn list_page(
    templates: &Templates,
    ctx: &PortletContext,
    access: &Access,
    current: Current,
) -> Result<RenderResponse, PortletError> {
    let recipients = ctx.recipients();
    let db = ctx.db()?;
    let mut m = base(ctx, access, &current);
    m.insert("view".into(), "list".into());
    let mut rows = Vec::new();
    match &current {
        Current::Book(book) => {
            let entries = {
                let mut conn = db.pool().acquire().await?;
                store::entries(&mut conn, book).await?
            };
            for s in resolve_all(&recipients, ctx.user(), entries).await? {
                rows.push(row(ctx, &s, String::new()));
            }
            let name = book_name(ctx, access, book);
            m.insert("heading".into(), name.into());
            m.insert("empty".into(), ctx.t(&MESSAGES, "empty-book").into());
            let writable = access.may_write(book);
            m.insert("writable".into(), writable.into());
            m.insert("book".into(), book.key().into());
            m.insert(
                "new_url".into(),
                url(ctx, &[("nouveau", &book.key())]).into(),
            );
            m.insert(
                "search_action".into(),
                ctx.urls().render().to_string().into(),
            );
            let mut hidden = vec![];
            if *book != access.own() {
                hidden.push(("p.carnet".to_string(), book.key()));
            }
            m.insert(
                "search_hidden".into(),
                serde_json::to_value(hidden).unwrap_or_default(),
            );
            let export = |format: &str| {
                let mut u = ctx.urls().resource("export").param("format", format);
                if *book != access.own() {
                    u = u.param("carnet", book.key());
                }
                u.to_string()
            };
            m.insert(
                "exports".into(),
                serde_json::json!([
                    {"url": export("vcard4"), "label": ctx.t(&MESSAGES, "export-vcard4")},
                    {"url": export("vcard3"), "label": ctx.t(&MESSAGES, "export-vcard3")},
                    {"url": export("ldif"), "label": ctx.t(&MESSAGES, "export-ldif")},
                ]),
            );
            let mut max = ctx.urls().render().state(WindowState::Maximized);
            if *book != access.own() {
                max = max.param("carnet", book.key());
            }
            m.insert("maximize_url".into(), max.to_string().into());
        }
        Current::All => {
            let excluded: Vec<String> = ctx
                .data()
                .get_json(CONSOLIDATION_KEY)
                .await?
                .unwrap_or_default();
            let mut books = vec![(access.own(), ctx.t(&MESSAGES, "my-book"))];
            let mut choices = Vec::new();
            for (id, name, _) in &access.tool_groups {
                let on = !excluded.contains(id);
                choices.push(serde_json::json!({"id": id, "name": name, "on": on}));
                if on {
                    books.push((Book::Group(id.clone()), name.clone()));
                }
            }
            let mut all = Vec::new();
            for (book, name) in books {
                let entries = {
                    let mut conn = db.pool().acquire().await?;
                    store::entries(&mut conn, &book).await?
                };
                for s in resolve_all(&recipients, ctx.user(), entries).await? {
                    all.push(row(ctx, &s, name.clone()));
                }
            }
            all.sort_by_key(|r| cartable_socle::fold_name(&r.name));
            rows = all;
            m.insert("heading".into(), ctx.t(&MESSAGES, "all-books").into());
            m.insert("empty".into(), ctx.t(&MESSAGES, "empty-book").into());
            m.insert("show_origin".into(), true.into());
            m.insert("consolidation".into(), choices.into());
        }
        Current::Shared => {
            let refs = {
                let mut conn = db.pool().acquire().await?;
                let refs = store::shared_with(&mut conn, &access.me, &access.group_ids()).await?;
                let mut entries = Vec::new();
                for (book, id) in refs {
                    if let Some(e) = store::entry(&mut conn, &book, id).await? {
                        entries.push(e);
                    }
                }
                entries
            };
            for s in resolve_all(&recipients, ctx.user(), refs).await? {
                let by = match &s.entry.book {
                    Book::User(u) => ctx
                        .directory()
                        .person(u)
                        .await?
                        .map_or_else(|| u.clone(), |p| p.display_name),
                    Book::Group(g) => g.clone(),
                };
                rows.push(row(ctx, &s, by));
            }
            m.insert("heading".into(), ctx.t(&MESSAGES, "shared-with-me").into());
            m.insert("empty".into(), ctx.t(&MESSAGES, "none-shared").into());
            m.insert("show_origin".into(), true.into());
        }
    }
    m.insert(
        "rows".into(),
        serde_json::to_value(rows).unwrap_or_default(),
    );
    finish(templates, ctx, m)
}

async fn search_page(
    templates: &Templates,
    ctx: &PortletContext,
    access: &Access,
    book: &Book,
    text: &str,
) -> Result<RenderResponse, PortletError> {
    if !access.may_write(book) {
        return Err(PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")));
    }
    let text: String = text.chars().filter(|c| !c.is_control()).take(100).collect();
    let found = ctx
        .recipients()
        .find(ctx.user(), text.trim(), 50)
        .await
        .map_err(|e| PortletError::Internal(format!("the directory could not be searched: {e}")))?;
    let mut conn = ctx.db()?.pool().acquire().await?;
    let mut people = Vec::new();
    for r in found
        .into_iter()
        .filter(|r| r.kind == RecipientKind::Person)
    {
        let Some(uid) = r.id.strip_prefix("user:") else {
            continue;
        };
        let added = store::by_person(&mut conn, book, uid).await?.is_some();
        people.push(serde_json::json!({
            "uid": uid, "label": r.label, "detail": r.detail, "added": added,
        }));
    }
    drop(conn);
    let mut m = base(ctx, access, &Current::Book(book.clone()));
    m.insert("view".into(), "search".into());
    m.insert("book".into(), book.key().into());
    m.insert(
        "found_text".into(),
        ctx.t_args(
            &MESSAGES,
            "found",
            &args! { "n" => people.len(), "text" => text.trim() },
        )
        .into(),
    );
    m.insert("people".into(), people.into());
    m.insert("back_url".into(), book_url(ctx, book).into());
    finish(templates, ctx, m)
}

async fn entry_page(
    templates: &Templates,
    ctx: &PortletContext,
    access: &Access,
    book: &Book,
    id: u64,
) -> Result<RenderResponse, PortletError> {
    let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
    let (entry, shares) = {
        let mut conn = ctx.db()?.pool().acquire().await?;
        if !access.may_read_entry(&mut conn, book, id).await? {
            tracing::info!(user = %ctx.user().id, book = %book, id, "carnet entry refused");
            return Err(not_found());
        }
        let entry = store::entry(&mut conn, book, id)
            .await?
            .ok_or_else(not_found)?;
        let shares = if *book == access.own() {
            Some(
                store::shares(&mut conn, book)
                    .await?
                    .into_iter()
                    .filter(|s| s.entry == id)
                    .collect::<Vec<_>>(),
            )
        } else {
            None
        };
        (entry, shares)
    };
    let shown = resolve(&ctx.recipients(), ctx.user(), entry).await?;
    let writable = access.may_write(book);
    let editable = writable && shown.entry.person.is_none();
    let mut m = base(ctx, access, &Current::Book(book.clone()));
    m.insert("view".into(), "entry".into());
    m.insert("book".into(), book.key().into());
    m.insert(
        "entry".into(),
        serde_json::json!({
            "id": id, "name": shown.fields.display_name(),
            "person": shown.entry.person.is_some(), "gone": shown.gone,
        }),
    );
    m.insert("editable".into(), editable.into());
    m.insert("form".into(), form_values(ctx, &shown.fields));
    let f = &shown.fields;
    let details: Vec<(String, String)> = [
        ("field-nom", &f.nom),
        ("field-prenom", &f.prenom),
        ("field-fonction", &f.fonction),
        ("field-institution", &f.institution),
        ("field-adresse", &f.adresse),
        ("field-telephone", &f.telephone),
        ("field-courriel", &f.courriel),
        ("field-note", &f.note),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (ctx.t(&MESSAGES, k), v.clone()))
    .collect();
    m.insert(
        "details".into(),
        serde_json::to_value(details).unwrap_or_default(),
    );
    match shares {
        Some(shares) => {
            let mut shown_shares = Vec::new();
            for s in shares {
                let label = if s.kind == "group" {
                    let name = access
                        .groups
                        .iter()
                        .find(|(g, _)| *g == s.target)
                        .map_or(s.target.as_str(), |(_, n)| n.as_str());
                    ctx.t_args(&MESSAGES, "shared-group", &args! { "group" => name })
                } else {
                    let name = ctx
                        .directory()
                        .person(&s.target)
                        .await?
                        .map_or_else(|| s.target.clone(), |p| p.display_name);
                    ctx.t_args(&MESSAGES, "shared-user", &args! { "user" => name })
                };
                shown_shares.push(serde_json::json!({
                    "label": label, "kind": s.kind, "target": s.target,
                }));
            }
            m.insert("shares".into(), shown_shares.into());
            m.insert(
                "groups".into(),
                serde_json::to_value(&access.groups).unwrap_or_default(),
            );
        }
        None => {
            m.insert("shares".into(), serde_json::Value::Null);
        }
    }
    // Copied into any other book she writes: hers, or a group's (sharing with it).
    let mut copy_to: Vec<(String, String)> = Vec::new();
    let own = access.own();
    if *book != own {
        copy_to.push((own.key(), book_name(ctx, access, &own)));
    }
    for (g, _, _) in &access.tool_groups {
        let b = Book::Group(g.clone());
        if b != *book && access.may_write(&b) {
            copy_to.push((b.key(), book_name(ctx, access, &b)));
        }
    }
    m.insert(
        "copy_to".into(),
        serde_json::to_value(copy_to).unwrap_or_default(),
    );
    m.insert(
        "delete_url".into(),
        writable
            .then(|| url(ctx, &[("supprimer", &entry_ref(book, id))]))
            .into(),
    );
    let back = if access.may_read(book) {
        book_url(ctx, book)
    } else {
        url(ctx, &[("vue", "partages")])
    };
    m.insert("back_url".into(), back.into());
    finish(templates, ctx, m)
}

async fn delete_page(
    templates: &Templates,
    ctx: &PortletContext,
    access: &Access,
    book: &Book,
    id: u64,
) -> Result<RenderResponse, PortletError> {
    let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
    if !access.may_write(book) {
        return Err(not_found());
    }
    let entry = {
        let mut conn = ctx.db()?.pool().acquire().await?;
        store::entry(&mut conn, book, id)
            .await?
            .ok_or_else(not_found)?
    };
    let mut m = base(ctx, access, &Current::Book(book.clone()));
    m.insert("view".into(), "delete".into());
    m.insert("book".into(), book.key().into());
    m.insert("id".into(), id.into());
    m.insert(
        "question".into(),
        ctx.t_args(
            &MESSAGES,
            "delete-question",
            &args! { "name" => entry.fields.display_name() },
        )
        .into(),
    );
    m.insert(
        "back_url".into(),
        url(ctx, &[("fiche", &entry_ref(book, id))]).into(),
    );
    finish(templates, ctx, m)
}
