// The pages the browser suite audits with axe-core (WCAG 2.1 A and AA), one line each.
//
// Adding a page to the suite is one line here:
//   { name: 'what it is', server: 'lycee' | 'fixture', login: 'eleve' | … | null, path: '/…' },
// `login` is a demo account (its password is its login) or null for an anonymous visitor;
// `path` is requested after logging in and may redirect (the page audited is where it
// lands). Optional: `status` (the HTTP status expected, 200 by default), `shows` (selectors,
// one or a list, that must each match something visible: the page is what it claims),
// `wrongPassword: true` (submit the login form with a wrong password instead of
// requesting `path`: the form's error state), `expectViolations: ['rule-id']` (the
// self-test page, which must FAIL the audit with exactly those rules: it proves the
// checker is live).
//
// Every page listed must have zero violations and a <title> of its own: two entries that
// land on different pages (URL or language) must have different titles.
export const PAGES = [
  { name: 'login form', server: 'lycee', login: null, path: '/login' },
  { name: 'login form, wrong password', server: 'lycee', login: null, path: '/login', wrongPassword: true, status: 401, shows: '.error-box' },
  { name: 'home (élève)', server: 'lycee', login: 'eleve', path: '/page/accueil' },
  { name: 'home (enseignant)', server: 'lycee', login: 'enseignant', path: '/page/accueil' },
  { name: 'home (parent)', server: 'lycee', login: 'parent', path: '/page/accueil' },
  { name: 'home (personnel)', server: 'lycee', login: 'personnel', path: '/page/accueil' },
  { name: 'home in English', server: 'lycee', login: 'eleve', path: '/lang/en?next=/page/accueil' },
  { name: 'layout editing', server: 'lycee', login: 'eleve', path: '/layout/accueil' },
  { name: 'layout editing (personnel)', server: 'lycee', login: 'personnel', path: '/layout/accueil' },
  { name: 'admin', server: 'lycee', login: 'personnel', path: '/admin', shows: 'main table' },
  { name: 'usage indicators: charts, tables, exports (admin)', server: 'lycee', login: 'personnel', path: '/admin/indicateurs', shows: ['main form.filters', 'figure.chart li'] },
  { name: 'my account (élève)', server: 'lycee', login: 'eleve', path: '/compte', shows: '#acc-password' },
  { name: 'my account (enseignant: delegation, groups)', server: 'lycee', login: 'enseignant', path: '/compte', shows: '#del-to' },
  { name: 'directory search (annuaire)', server: 'lycee', login: 'enseignant', path: '/page/annuaire/annuaire?p.nom=Martin' },
  { name: 'groups (admin list)', server: 'fixture', login: 'personnel', path: '/admin/groupes', shows: 'main table' },
  { name: 'a group edited by the admin', server: 'fixture', login: 'personnel', path: '/admin/groupes/club-theatre', shows: ['#grp-tools', '#right-0'] },
  { name: 'a group: members, rights, tools and quotas (owner)', server: 'fixture', login: 'enseignant', path: '/compte/groupes/club-theatre', shows: ['#tool-forum', '#limit-forum', '#grp-quota'] },
  { name: 'help and tutorial (aide, élève)', server: 'lycee', login: 'eleve', path: '/aide', shows: '.aide-nav' },
  { name: 'help and tutorial in English (aide, parent)', server: 'lycee', login: 'parent', path: '/lang/en?next=/aide', shows: '.aide-nav' },
  { name: 'report a problem (aide, from the footer)', server: 'lycee', login: 'eleve', path: '/aide/signaler?page=%2Fpage%2Faccueil&service=bloc-notes', shows: '#w-aide-subject' },
  { name: 'my reports (aide, élève)', server: 'lycee', login: 'eleve', path: '/page/aide/aide?state=maximized&p.vue=mes', shows: '.aide-nav' },
  { name: 'incident queue (aide, personnel)', server: 'lycee', login: 'personnel', path: '/page/aide/aide?state=maximized&p.vue=file', shows: '.aide-nav' },
  { name: 'help texts to edit (aide, personnel)', server: 'lycee', login: 'personnel', path: '/page/aide/aide?state=maximized&p.vue=editer', shows: '.aide-texts' },
  { name: 'editing a tutorial (aide, personnel)', server: 'lycee', login: 'personnel', path: '/page/aide/aide?state=maximized&p.vue=editer&p.sujet=eleve&p.langue=fr', shows: '#w-aide-body' },
  { name: 'announcements: the whole list and the publishing form (annonces, enseignant)', server: 'lycee', login: 'enseignant', path: '/page/accueil/nouveautes?state=maximized', shows: ['#w-nouveautes-f-title', '#w-nouveautes-f-from'] },
  { name: 'announcements: the whole list and the private feed (annonces, élève)', server: 'lycee', login: 'eleve', path: '/page/accueil/nouveautes?state=maximized', shows: '.news-feed' },
  { name: 'bookmarks: import and export (signets, maximized)', server: 'lycee', login: 'eleve', path: '/page/outils/liens?state=maximized', shows: '#w-liens-import-file' },
  { name: 'address book: import and export (carnet, maximized)', server: 'lycee', login: 'eleve', path: '/page/annuaire/carnet?state=maximized', shows: ['#w-carnet-file', 'table, .carnet, ul.tabs'] },
  { name: 'agenda: the superposed week view (élève)', server: 'lycee', login: 'eleve', path: '/page/agenda/agenda?p.date=2026-12-07', shows: 'table.agenda-week' },
  { name: 'agenda: the month view (enseignant)', server: 'lycee', login: 'enseignant', path: '/page/agenda/agenda?p.view=month&p.date=2026-12-07', shows: 'table.agenda-month' },
  { name: 'agenda: new event, import, export, rights (maximized)', server: 'lycee', login: 'eleve', path: '/page/agenda/agenda?state=maximized', shows: ['#w-agenda-title', '#w-agenda-file'] },
  { name: 'my account: application passwords (élève)', server: 'lycee', login: 'eleve', path: '/compte', shows: '#apppw-label' },
  { name: 'search results, grouped by service with a type filter (élève)', server: 'lycee', login: 'eleve', path: '/recherche?q=martin', shows: 'main form[role="search"]' },
  { name: 'search results in English (parent)', server: 'lycee', login: 'parent', path: '/lang/en?next=/recherche?q=martin', shows: 'main form[role="search"]' },
  { name: 'a search refused (unclosed quote)', server: 'lycee', login: 'eleve', path: '/recherche?q=%22r%C3%A9union', status: 400, shows: 'main .error' },
  { name: '404 page', server: 'lycee', login: 'eleve', path: '/page/nulle-part', status: 404 },
  { name: '403 page', server: 'lycee', login: 'eleve', path: '/admin', status: 403 },
  { name: 'error boxes: too slow, failed, maintenance', server: 'fixture', login: 'eleve', path: '/page/erreurs', shows: ['#w-lent .error-box:has-text("trop de temps")', '#w-en-panne .error-box:has-text("erreur")', '#w-entretien .error-box:has-text("maintenance")'] },
  { name: 'self-test: image without alt', server: 'fixture', login: 'eleve', path: '/page/bad', shows: '#w-image-sans-alt img', expectViolations: ['image-alt'] },
];

// Profiles whose every tab, and every window of it in every mode and state its controls
// offer (help, edit/preferences, maximized), is audited too.
export const WINDOW_SWEEPS = ['eleve', 'enseignant', 'parent', 'personnel'];

// The WCAG levels checked: axe-core rules tagged with any of these.
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
