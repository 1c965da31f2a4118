//! The window's pages: a folder of hers (with the établissement's links and the folders
//! shared with her), a folder shared with her, the forms that edit a link or a folder
//! (and share it), and the confirmations of a removal. Which one is shown is said by the
//! render parameters: `dossier` (her folder), `de` + `partage` (a shared folder),
//! `modifier` and `supprimer` (`lien-N` or `dossier-N`).

use cartable_portlet::markup_value;
use cartable_portlet::prelude::*;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use crate::share::Readable;
use crate::store::{self, Share};
use crate::tree::{Entry, TOP, Tree};
use crate::{MAX_FOLDER_NAME_LEN, MAX_LINK_TITLE_LEN, MAX_URL_LEN, MESSAGES, school_links};

/// The template of every page of the window (one, so that the établissement's theme
/// overrides it whole).
pub(crate) const VIEW: &str = r#"{% macro path_nav(list) %}<nav aria-label="{{ t("folder-path") }}"><ol class="crumbs">
{% for c in list %}<li>{% if c.url %}<a href="{{ c.url }}">{{ c.name }}</a>{% else %}<span aria-current="page">{{ c.name }}</span>{% endif %}</li>
{% endfor %}</ol></nav>{% endmacro %}
{%- if view == "browse" %}{% if school %}<h3>{{ t("school-links") }}</h3>
<ul class="links">
{% for l in school %}<li><a href="{{ l.url }}">{{ l.title }}</a></li>
{% endfor %}</ul>
{% endif %}<h3>{{ t("my-links") }}</h3>
{% if notice %}<p class="notice" role="status">{{ notice }}</p>
{% endif %}{% if crumbs|length > 1 %}{{ path_nav(crumbs) }}
{% endif %}{% if entries %}<ul class="links">
{% for e in entries %}<li>{% if e.folder %}<a href="{{ e.href }}"><span aria-hidden="true">📁 </span>{{ e.title }}<span class="visually-hidden"> ({{ t("folder") }})</span></a>{% else %}<a href="{{ e.href }}">{{ e.title }}</a>{% endif %}
{% if e.up %}<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="up"><input type="hidden" name="kind" value="{{ e.kind }}"><input type="hidden" name="id" value="{{ e.id }}"><button type="submit">{{ t("move-up") }}<span class="visually-hidden"> – {{ e.title }}</span></button></form>{% endif %}
{% if e.down %}<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="down"><input type="hidden" name="kind" value="{{ e.kind }}"><input type="hidden" name="id" value="{{ e.id }}"><button type="submit">{{ t("move-down") }}<span class="visually-hidden"> – {{ e.title }}</span></button></form>{% endif %}
<a href="{{ e.edit_url }}">{{ t("edit") }}<span class="visually-hidden"> – {{ e.title }}</span></a></li>
{% endfor %}</ul>
{% else %}<p>{{ t("none") }}</p>{% endif %}
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="add">
<p><label for="{{ ns }}-link-title">{{ t("link-title") }}</label><br>
<input type="text" id="{{ ns }}-link-title" name="title" maxlength="{{ max_title }}" required></p>
<p><label for="{{ ns }}-link-url">{{ t("link-url") }}</label><br>
<input type="url" id="{{ ns }}-link-url" name="url" maxlength="{{ max_url }}" required placeholder="https://…" aria-describedby="{{ ns }}-link-url-help"><br>
<span id="{{ ns }}-link-url-help" class="muted">{{ t("link-url-help") }}</span></p>
<p><button type="submit">{{ t("add") }}</button></p>
</form>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="add-folder">
<p><label for="{{ ns }}-new-folder">{{ t("new-folder") }}</label><br>
<input type="text" id="{{ ns }}-new-folder" name="name" maxlength="{{ max_folder }}" required>
<button type="submit">{{ t("create-folder") }}</button></p>
</form>
{% if shared %}<h3>{{ t("shared-with-me") }}</h3>
<ul class="links">
{% for s in shared %}<li><a href="{{ s.url }}"><span aria-hidden="true">📁 </span>{{ s.name }}</a> <span class="muted">{{ s.by }}</span></li>
{% endfor %}</ul>
{% endif %}{% if maximized %}<h3>{{ t("import-export") }}</h3>
<p><a href="{{ export_url }}">{{ t("export") }}</a><br><span class="muted">{{ t("export-help") }}</span></p>
<form method="post" action="{{ action }}" enctype="multipart/form-data">{{ csrf }}
<input type="hidden" name="op" value="import">
<p><label for="{{ ns }}-import-file">{{ t("import-file") }}</label><br>
<input type="file" id="{{ ns }}-import-file" name="file" accept=".html,.htm,text/html" required></p>
<p><button type="submit">{{ t("import") }}</button></p>
</form>
{% else %}<p><a href="{{ maximize_url }}">{{ t("import-export") }}<span class="visually-hidden"> – {{ t("my-links") }}</span></a></p>
{% endif %}
{%- elif view == "shared" %}<h3>{{ t("shared-with-me") }}</h3>
<p>{{ by }}</p>
{{ path_nav(crumbs) }}
{% if entries %}<ul class="links">
{% for e in entries %}<li><a href="{{ e.href }}">{% if e.folder %}<span aria-hidden="true">📁 </span>{% endif %}{{ e.title }}{% if e.folder %}<span class="visually-hidden"> ({{ t("folder") }})</span>{% endif %}</a></li>
{% endfor %}</ul>
{% else %}<p>{{ t("empty-folder") }}</p>{% endif %}
<p><a href="{{ export_url }}">{{ t("export-shared") }}</a></p>
<p><a href="{{ back_url }}">{{ t("back") }}</a></p>
{%- elif view == "edit-link" %}<h3>{{ t("edit-link") }}</h3>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="edit-link"><input type="hidden" name="id" value="{{ link.id }}">
<p><label for="{{ ns }}-edit-title">{{ t("link-title") }}</label><br>
<input type="text" id="{{ ns }}-edit-title" name="title" value="{{ link.title }}" maxlength="{{ max_title }}" required></p>
<p><label for="{{ ns }}-edit-url">{{ t("link-url") }}</label><br>
<input type="url" id="{{ ns }}-edit-url" name="url" value="{{ link.url }}" maxlength="{{ max_url }}" required></p>
<p><label for="{{ ns }}-edit-folder">{{ t("folder") }}</label><br>
<select id="{{ ns }}-edit-folder" name="folder">
<option value="0"{% if link.folder == 0 %} selected{% endif %}>{{ t("top-level") }}</option>
{% for c in choices %}<option value="{{ c[0] }}"{% if c[0] == link.folder %} selected{% endif %}>{{ c[1] }}</option>
{% endfor %}</select></p>
<p><button type="submit">{{ t("save") }}</button> <a href="{{ back_url }}">{{ t("cancel") }}</a></p>
</form>
<p><a href="{{ delete_url }}">{{ t("delete-link") }}</a></p>
{%- elif view == "edit-folder" %}<h3>{{ t("edit-folder") }}</h3>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="edit-folder"><input type="hidden" name="id" value="{{ folder.id }}">
<p><label for="{{ ns }}-folder-name">{{ t("folder-name") }}</label><br>
<input type="text" id="{{ ns }}-folder-name" name="name" value="{{ folder.name }}" maxlength="{{ max_folder }}" required></p>
<p><label for="{{ ns }}-folder-parent">{{ t("parent") }}</label><br>
<select id="{{ ns }}-folder-parent" name="parent">
<option value="0"{% if folder.parent == 0 %} selected{% endif %}>{{ t("top-level") }}</option>
{% for c in choices %}<option value="{{ c[0] }}"{% if c[0] == folder.parent %} selected{% endif %}>{{ c[1] }}</option>
{% endfor %}</select></p>
<p><button type="submit">{{ t("save") }}</button> <a href="{{ back_url }}">{{ t("cancel") }}</a></p>
</form>
<h4>{{ t("sharing") }}</h4>
{% if shares %}<p>{{ t("shared-with") }}</p>
<ul>
{% for s in shares %}<li>{{ s.label }}
<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="unshare"><input type="hidden" name="id" value="{{ folder.id }}"><input type="hidden" name="kind" value="{{ s.kind }}"><input type="hidden" name="target" value="{{ s.target }}"><button type="submit">{{ t("unshare") }}<span class="visually-hidden"> – {{ s.label }}</span></button></form></li>
{% endfor %}</ul>
{% else %}<p>{{ t("not-shared") }}</p>{% endif %}
{% if groups %}<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="share"><input type="hidden" name="id" value="{{ folder.id }}"><input type="hidden" name="kind" value="group">
<p><label for="{{ ns }}-share-group">{{ t("share-group") }}</label><br>
<select id="{{ ns }}-share-group" name="target">
{% for g in groups %}<option value="{{ g.id }}">{{ g.name }}</option>
{% endfor %}</select>
<button type="submit">{{ t("share") }}</button></p>
</form>
{% endif %}<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="share"><input type="hidden" name="id" value="{{ folder.id }}"><input type="hidden" name="kind" value="user">
<p><label for="{{ ns }}-share-user">{{ t("share-user") }}</label><br>
<input type="text" id="{{ ns }}-share-user" name="target" required autocomplete="off" aria-describedby="{{ ns }}-share-user-help">
<button type="submit">{{ t("share") }}</button><br>
<span id="{{ ns }}-share-user-help" class="muted">{{ t("share-user-help") }}</span></p>
</form>
<p><a href="{{ delete_url }}">{{ t("delete-folder") }}</a></p>
{%- elif view == "delete" %}<h3>{{ heading }}</h3>
<p>{{ question }}</p>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="{{ op }}"><input type="hidden" name="id" value="{{ id }}"><input type="hidden" name="confirm" value="yes">
<p><button type="submit">{{ t("confirm-delete") }}</button> <a href="{{ back_url }}">{{ t("cancel") }}</a></p>
</form>
{%- endif %}"#;

/// One line of a folder as shown.
#[derive(Debug, Serialize)]
struct Shown {
    folder: bool,
    kind: &'static str,
    id: u64,
    title: String,
    href: String,
    edit_url: String,
    up: bool,
    down: bool,
}

/// A step of the path to a folder.
#[derive(Debug, Serialize)]
struct Crumb {
    name: String,
    url: Option<String>,
}

/// What an `lien-N` / `dossier-N` parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A link.
    Link(u64),
    /// A folder.
    Folder(u64),
}

impl Target {
    /// Read `lien-N` or `dossier-N`.
    pub fn parse(text: &str) -> Option<Target> {
        let (kind, id) = text.split_once('-')?;
        let id = id.parse().ok()?;
        match kind {
            "lien" => Some(Target::Link(id)),
            "dossier" => Some(Target::Folder(id)),
            _ => None,
        }
    }

    fn param(self) -> String {
        match self {
            Target::Link(id) => format!("lien-{id}"),
            Target::Folder(id) => format!("dossier-{id}"),
        }
    }
}

/// Her folder being shown (`dossier`), the top level when absent or not hers.
pub(crate) fn current_folder(ctx: &PortletContext) -> u64 {
    ctx.param("dossier")
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or(TOP)
}

/// A render URL of the window in its state, with parameters.
fn url(ctx: &PortletContext, params: &[(&str, String)]) -> String {
    let mut u = ctx.urls().render();
    if ctx.window().state == WindowState::Maximized {
        u = u.state(WindowState::Maximized);
    }
    for (k, v) in params {
        u = u.param(k, v);
    }
    format!("{u}#{}", ctx.window().namespace())
}

/// Her folder `folder` (the top level: 0).
fn folder_url(ctx: &PortletContext, folder: u64) -> String {
    if folder == TOP {
        url(ctx, &[])
    } else {
        url(ctx, &[("dossier", folder.to_string())])
    }
}

/// The action URL, carrying the folder shown and the state, so that the window comes
/// back to them after the action.
pub(crate) fn action_url(ctx: &PortletContext, folder: u64) -> String {
    let mut u = ctx.urls().action();
    if folder != TOP {
        u = u.param("dossier", folder);
    }
    if ctx.window().state == WindowState::Maximized || ctx.param("vue") == Some("max") {
        u = u.param("vue", "max");
    }
    u.to_string()
}

/// Render the page the parameters ask for.
pub(crate) async fn render(
    templates: &Templates,
    ctx: &PortletContext,
) -> Result<RenderResponse, PortletError> {
    // Her groups first: the groups live in the socle's storage, which may share the
    // database's pool; no connection is held while they are read.
    let my_groups = ctx
        .groups()
        .groups_of(&ctx.user().id)
        .await
        .map_err(|e| PortletError::Internal(format!("the groups could not be read: {e}")))?;
    let db = ctx.db()?;
    let mut conn = db.pool().acquire().await.map_err(PortletError::from)?;
    let me = ctx.user().id.clone();
    let tree = Tree::load(&mut conn, &me).await?;
    let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
    if let Some(target) = ctx.param("modifier") {
        match Target::parse(target).ok_or_else(not_found)? {
            Target::Link(id) => return edit_link(templates, ctx, &tree, id),
            Target::Folder(id) => {
                return edit_folder(templates, ctx, &mut conn, &tree, id, &my_groups).await;
            }
        }
    }
    if let Some(target) = ctx.param("supprimer") {
        let target = Target::parse(target).ok_or_else(not_found)?;
        return confirm_delete(templates, ctx, &tree, target);
    }
    if let Some(owner) = ctx.param("de") {
        let folder = ctx
            .param("partage")
            .and_then(|f| f.parse().ok())
            .unwrap_or(TOP);
        return shared(templates, ctx, &mut conn, owner, folder, &ids(&my_groups)).await;
    }
    browse(templates, ctx, &mut conn, &tree, &ids(&my_groups)).await
}

fn ids(groups: &[cartable_socle::Group]) -> Vec<String> {
    groups.iter().map(|g| g.id.clone()).collect()
}

fn common(ctx: &PortletContext, folder: u64) -> minijinja::Value {
    context! {
        ns => ctx.window().namespace(),
        action => action_url(ctx, folder),
        csrf => markup_value(&ctx.csrf_field()),
        max_title => MAX_LINK_TITLE_LEN,
        max_url => MAX_URL_LEN,
        max_folder => MAX_FOLDER_NAME_LEN,
    }
}

fn merge(a: minijinja::Value, b: minijinja::Value) -> minijinja::Value {
    context! { ..a, ..b }
}

async fn browse(
    templates: &Templates,
    ctx: &PortletContext,
    conn: &mut cartable_portlet::sqlx::AnyConnection,
    tree: &Tree,
    groups: &[String],
) -> Result<RenderResponse, PortletError> {
    let mut here = current_folder(ctx);
    if !tree.has_folder(here) {
        here = TOP;
    }
    let mut crumbs = vec![Crumb {
        name: ctx.t(&MESSAGES, "my-links"),
        url: (here != TOP).then(|| folder_url(ctx, TOP)),
    }];
    for f in tree.path(here) {
        crumbs.push(Crumb {
            name: f.name.clone(),
            url: (f.id != here).then(|| folder_url(ctx, f.id)),
        });
    }
    let children = tree.children(here);
    let last = children.len().saturating_sub(1);
    let entries: Vec<Shown> = children
        .iter()
        .enumerate()
        .map(|(i, e)| match e {
            Entry::Folder(f) => Shown {
                folder: true,
                kind: "folder",
                id: f.id,
                title: f.name.clone(),
                href: folder_url(ctx, f.id),
                edit_url: url(ctx, &[("modifier", Target::Folder(f.id).param())]),
                up: i > 0,
                down: i < last,
            },
            Entry::Link(l) => Shown {
                folder: false,
                kind: "link",
                id: l.id,
                title: l.title.clone(),
                href: l.url.clone(),
                edit_url: url(ctx, &[("modifier", Target::Link(l.id).param())]),
                up: i > 0,
                down: i < last,
            },
        })
        .collect();
    let readable = Readable::of(conn, &ctx.user().id, groups).await?;
    let mut shared = Vec::new();
    for (owner, folder) in &readable.roots {
        let theirs = Tree::load(conn, owner).await?;
        let Some(f) = theirs.folder(*folder) else {
            continue;
        };
        shared.push(context! {
            name => f.name.clone(),
            by => by_line(ctx, owner).await?,
            url => url(ctx, &[("de", owner.clone()), ("partage", folder.to_string())]),
        });
    }
    let notice = ctx.param("importe").map(|links| {
        ctx.t_args(
            &MESSAGES,
            "imported",
            &args! {
                "links" => links.parse::<u64>().unwrap_or(0),
                "folders" => ctx.param("dossiers").and_then(|d| d.parse::<u64>().ok()).unwrap_or(0),
                "skipped" => ctx.param("ignores").and_then(|d| d.parse::<u64>().ok()).unwrap_or(0),
            },
        )
    });
    let maximized = ctx.window().state == WindowState::Maximized;
    let mut maximize = ctx.urls().render().state(WindowState::Maximized);
    if here != TOP {
        maximize = maximize.param("dossier", here);
    }
    let markup = templates.render_for(
        ctx,
        "view",
        merge(
            common(ctx, here),
            context! {
                view => "browse",
                school => Serde(&school_links(ctx.preferences.get("links").unwrap_or_default())),
                crumbs => Serde(&crumbs),
                entries => Serde(&entries),
                shared => shared,
                notice => notice,
                maximized => maximized,
                maximize_url => format!("{maximize}#{}", ctx.window().namespace()),
                export_url => ctx.urls().resource("export").to_string(),
            },
        ),
    )?;
    let mut response: RenderResponse = markup.into();
    if here != TOP
        && let Some(f) = tree.folder(here)
    {
        response = response.title(format!("{} – {}", f.name, ctx.t(&MESSAGES, "title")));
    }
    Ok(response)
}

/// "partagé par Camille Martin".
async fn by_line(ctx: &PortletContext, owner: &str) -> Result<String, PortletError> {
    let name = ctx
        .directory()
        .person(owner)
        .await?
        .map(|p| p.display_name)
        .unwrap_or_else(|| owner.to_string());
    Ok(ctx.t_args(&MESSAGES, "shared-by", &args! { "name" => name }))
}

async fn shared(
    templates: &Templates,
    ctx: &PortletContext,
    conn: &mut cartable_portlet::sqlx::AnyConnection,
    owner: &str,
    folder: u64,
    groups: &[String],
) -> Result<RenderResponse, PortletError> {
    let readable = Readable::of(conn, &ctx.user().id, groups).await?;
    let theirs = Tree::load(conn, owner).await?;
    // Nothing of a folder not shared with her: the same answer as a folder that does
    // not exist.
    let root = readable
        .may_read(owner, folder, &theirs)
        .ok_or_else(|| PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")))?;
    let at = |f: u64| {
        url(
            ctx,
            &[("de", owner.to_string()), ("partage", f.to_string())],
        )
    };
    let crumbs: Vec<Crumb> = theirs
        .path(folder)
        .into_iter()
        .skip_while(|f| f.id != root)
        .map(|f| Crumb {
            name: f.name.clone(),
            url: (f.id != folder).then(|| at(f.id)),
        })
        .collect();
    let entries: Vec<Shown> = theirs
        .children(folder)
        .into_iter()
        .map(|e| match e {
            Entry::Folder(f) => Shown {
                folder: true,
                kind: "folder",
                id: f.id,
                title: f.name.clone(),
                href: at(f.id),
                edit_url: String::new(),
                up: false,
                down: false,
            },
            Entry::Link(l) => Shown {
                folder: false,
                kind: "link",
                id: l.id,
                title: l.title.clone(),
                href: l.url.clone(),
                edit_url: String::new(),
                up: false,
                down: false,
            },
        })
        .collect();
    let export = ctx
        .urls()
        .resource("partage")
        .param("de", owner)
        .param("dossier", folder);
    let name = theirs
        .folder(folder)
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let markup = templates.render_for(
        ctx,
        "view",
        merge(
            common(ctx, TOP),
            context! {
                view => "shared",
                by => by_line(ctx, owner).await?,
                crumbs => Serde(&crumbs),
                entries => Serde(&entries),
                export_url => export.to_string(),
                back_url => folder_url(ctx, TOP),
            },
        ),
    )?;
    let response: RenderResponse = markup.into();
    Ok(response.title(format!("{name} – {}", ctx.t(&MESSAGES, "shared-with-me"))))
}

fn edit_link(
    templates: &Templates,
    ctx: &PortletContext,
    tree: &Tree,
    id: u64,
) -> Result<RenderResponse, PortletError> {
    let link = tree
        .link(id)
        .ok_or_else(|| PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")))?;
    let folder = if tree.has_folder(link.folder) {
        link.folder
    } else {
        TOP
    };
    let markup = templates.render_for(
        ctx,
        "view",
        merge(
            common(ctx, folder),
            context! {
                view => "edit-link",
                link => context! { id => link.id, title => link.title.clone(), url => link.url.clone(), folder => folder },
                choices => Serde(&tree.folder_choices(" › ")),
                back_url => folder_url(ctx, folder),
                delete_url => url(ctx, &[("supprimer", Target::Link(id).param())]),
            },
        ),
    )?;
    let response: RenderResponse = markup.into();
    Ok(response.title(format!(
        "{} – {}",
        ctx.t(&MESSAGES, "edit-link"),
        link.title
    )))
}

async fn edit_folder(
    templates: &Templates,
    ctx: &PortletContext,
    conn: &mut cartable_portlet::sqlx::AnyConnection,
    tree: &Tree,
    id: u64,
    my_groups: &[cartable_socle::Group],
) -> Result<RenderResponse, PortletError> {
    let folder = tree
        .folder(id)
        .ok_or_else(|| PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")))?;
    let inside = tree.subtree(id);
    let choices: Vec<(u64, String)> = tree
        .folder_choices(" › ")
        .into_iter()
        .filter(|(f, _)| !inside.contains(f))
        .collect();
    let shares: Vec<Share> = store::shares(conn, &ctx.user().id)
        .await?
        .into_iter()
        .filter(|s| s.folder == id)
        .collect();
    let mut shown = Vec::new();
    for s in &shares {
        shown.push(context! {
            label => share_label(ctx, my_groups, s).await?,
            kind => s.kind.clone(),
            target => s.target.clone(),
        });
    }
    let groups: Vec<minijinja::Value> = my_groups
        .iter()
        .map(|g| context! { id => g.id.clone(), name => g.name.clone() })
        .collect();
    let parent = if tree.has_folder(folder.parent) {
        folder.parent
    } else {
        TOP
    };
    let markup = templates.render_for(
        ctx,
        "view",
        merge(
            common(ctx, parent),
            context! {
                view => "edit-folder",
                folder => context! { id => folder.id, name => folder.name.clone(), parent => parent },
                choices => Serde(&choices),
                shares => shown,
                groups => groups,
                back_url => folder_url(ctx, parent),
                delete_url => url(ctx, &[("supprimer", Target::Folder(id).param())]),
            },
        ),
    )?;
    let response: RenderResponse = markup.into();
    Ok(response.title(format!(
        "{} – {}",
        ctx.t(&MESSAGES, "edit-folder"),
        folder.name
    )))
}

/// "Camille Martin" or "groupe Club théâtre".
async fn share_label(
    ctx: &PortletContext,
    groups: &[cartable_socle::Group],
    share: &Share,
) -> Result<String, PortletError> {
    if share.kind == "group" {
        // Her groups only can be shared with; one she left shows its id.
        let name = groups
            .iter()
            .find(|g| g.id == share.target)
            .map(|g| g.name.clone())
            .unwrap_or_else(|| share.target.clone());
        Ok(ctx.t_args(&MESSAGES, "group-label", &args! { "name" => name }))
    } else {
        Ok(ctx
            .directory()
            .person(&share.target)
            .await?
            .map(|p| format!("{} ({})", p.display_name, p.id))
            .unwrap_or_else(|| share.target.clone()))
    }
}

fn confirm_delete(
    templates: &Templates,
    ctx: &PortletContext,
    tree: &Tree,
    target: Target,
) -> Result<RenderResponse, PortletError> {
    let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
    let (heading, question, op, id, folder) = match target {
        Target::Link(id) => {
            let l = tree.link(id).ok_or_else(not_found)?;
            (
                ctx.t(&MESSAGES, "delete-link"),
                ctx.t_args(
                    &MESSAGES,
                    "confirm-delete-link",
                    &args! { "title" => l.title.clone(), "url" => l.url.clone() },
                ),
                "remove",
                id,
                l.folder,
            )
        }
        Target::Folder(id) => {
            let f = tree.folder(id).ok_or_else(not_found)?;
            let (links, folders) = tree.content_count(id);
            (
                ctx.t(&MESSAGES, "delete-folder"),
                ctx.t_args(
                    &MESSAGES,
                    "confirm-delete-folder",
                    &args! { "name" => f.name.clone(), "links" => links, "folders" => folders },
                ),
                "remove-folder",
                id,
                f.parent,
            )
        }
    };
    let folder = if tree.has_folder(folder) { folder } else { TOP };
    let markup = templates.render_for(
        ctx,
        "view",
        merge(
            common(ctx, folder),
            context! {
                view => "delete",
                heading => heading.clone(),
                question => question,
                op => op,
                id => id,
                back_url => folder_url(ctx, folder),
            },
        ),
    )?;
    let response: RenderResponse = markup.into();
    Ok(response.title(heading))
}
