// Cartable's real-browser suite: Debian's chromium, headless, driven by playwright-core
// against the lycée demo and the browser fixture (examples/browser_fixture.rs), both
// started on loopback by tests/browser/run.sh (called by scripts/test.sh), which passes
// their URLs in CARTABLE_LYCEE_URL and CARTABLE_FIXTURE_URL.
//
//   1. accessibility: axe-core, WCAG 2.0/2.1 A and AA, zero violations on every page of
//      pages.mjs and on every window of every tab in each mode/state its controls offer
//      (a text whose contrast axe cannot determine fails too); a self-test page must
//      fail with `image-alt`, proving the checker is live;
//   2. every audited page has a <title> of its own;
//   3. keyboard only: skip link, every window's controls in order, maximize, a portlet
//      form, log out, with a visible focus of AA contrast at every step;
//   4. no JavaScript: log in, tabs, maximize, a form (action + redirect), preferences,
//      log out;
//   5. small screens: no horizontal scrolling at 360 px.
//
// Tests share the servers' state and run in this order (node --test runs the tests of a
// file one after the other): the audits come before the journeys that add notes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  axe,
  describeViolations,
  focusInfo,
  launch,
  login,
  pageIdentity,
  problems,
  url,
} from './lib.mjs';
import { PAGES, WINDOW_SWEEPS } from './pages.mjs';

let browser;
/** identity → { title, names } of every page audited, for the titles test. */
const titles = new Map();

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function recordTitle(page, name, response) {
  const identity = await pageIdentity(page, response);
  const title = (await page.title()).trim();
  const seen = titles.get(identity);
  if (seen) {
    seen.names.push(name);
    assert.equal(
      title,
      seen.title,
      `${name}: the same page (${identity}) has two titles: “${title}” and “${seen.title}”`,
    );
  } else {
    titles.set(identity, { title, names: [name] });
  }
}

async function assertNoViolations(page, name) {
  const results = await axe(page);
  assert.equal(
    problems(results).length,
    0,
    `${name} (${page.url()}) has accessibility violations:\n${describeViolations(problems(results))}`,
  );
}

describe('accessibility (axe-core, WCAG 2.1 AA)', () => {
  for (const entry of PAGES) {
    test(entry.name, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      try {
        if (entry.login) {
          await login(page, entry.server, entry.login);
        }
        const response = entry.wrongPassword
          ? await login(page, entry.server, 'eleve', 'pas-le-bon')
          : await page.goto(url(entry.server, entry.path));
        assert.equal(response.status(), entry.status ?? 200, `${entry.name}: HTTP status`);
        for (const selector of [entry.shows ?? []].flat()) {
          assert.ok(
            await page.locator(selector).first().isVisible(),
            `${entry.name}: ${selector} is shown on ${page.url()}`,
          );
        }
        if (entry.expectViolations) {
          const results = await axe(page);
          const found = results.violations.map((v) => v.id).sort();
          assert.deepEqual(
            found,
            [...entry.expectViolations].sort(),
            `${entry.name}: axe must report exactly ${entry.expectViolations.join(', ')}; ` +
              `it reported:\n${describeViolations(results.violations) || '  nothing'}`,
          );
          return;
        }
        await assertNoViolations(page, entry.name);
        await recordTitle(page, entry.name, response);
      } finally {
        await context.close();
      }
    });
  }

  for (const who of WINDOW_SWEEPS) {
    test(`every tab and window mode of ${who}`, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      // Every page of the sweep is audited; the failures are reported together.
      const failures = [];
      const audit = async (name, response) => {
        const results = await axe(page);
        if (problems(results).length > 0) {
          failures.push(`${name} (${page.url()}):\n${describeViolations(problems(results))}`);
        }
        await recordTitle(page, name, response);
      };
      try {
        await login(page, 'lycee', who);
        const tabs = await page.$$eval('nav.tabs li:not(.tools) a', (as) =>
          as.map((a) => a.getAttribute('href')),
        );
        assert.ok(tabs.length > 0, `${who} has tabs`);
        let modes = 0;
        for (const tab of tabs) {
          const response = await page.goto(url('lycee', tab));
          assert.ok((await page.locator('section.window').count()) > 0, `${tab} has windows`);
          await audit(`${who}: ${tab}`, response);
          // Every control link of every window: help, preferences, maximize.
          const controls = await page.$$eval('section.window .controls a', (as) =>
            as.map((a) => ({
              href: a.getAttribute('href'),
              label: a.textContent.replace(/\s+/g, ' ').trim(),
            })),
          );
          for (const { href, label } of controls) {
            const name = `${who}: ${label} (${href})`;
            const shown = await page.goto(url('lycee', href));
            assert.equal(shown.status(), 200, `${name} answers 200`);
            assert.ok((await page.locator('section.window').count()) > 0, `${name} shows a window`);
            await audit(name, shown);
            modes += 1;
          }
        }
        assert.ok(modes > 0, `${who}: window modes were audited`);
        assert.equal(
          failures.length,
          0,
          `${failures.length} page(s) of ${who} have accessibility violations:\n${failures.join('\n')}`,
        );
      } finally {
        await context.close();
      }
    });
  }
});

test('distinct pages have distinct titles', (t) => {
  assert.ok(titles.size >= 10, `titles were collected (${titles.size})`);
  for (const [identity, { title }] of titles) {
    t.diagnostic(`${title}  ←  ${identity}`);
  }
  const byTitle = new Map();
  for (const [identity, { title, names }] of titles) {
    assert.ok(title.length > 0, `${names[0]} has an empty <title>`);
    if (!byTitle.has(title)) byTitle.set(title, []);
    byTitle.get(title).push(`${names[0]} (${identity})`);
  }
  const shared = [...byTitle].filter(([, pages]) => pages.length > 1);
  assert.deepEqual(
    shared,
    [],
    `several pages share a title:\n${shared
      .map(([t, pages]) => `  “${t}”: ${pages.join('; ')}`)
      .join('\n')}`,
  );
});

// ---------------------------------------------------------------------------------------
// Keyboard only.

/** Assert the focused element shows a focus indicator of at least 3:1 contrast. */
async function assertFocusVisible(page, step) {
  const f = await focusInfo(page);
  assert.ok(!f.none, `${step}: something has the focus`);
  assert.ok(
    f.visible,
    `${step}: the focus on ${f.describe} is not visible (outline: ${f.outline}; box-shadow: ${f.boxShadow})`,
  );
  assert.ok(f.onScreen, `${step}: the focused ${f.describe} is off screen`);
  if (f.minContrast !== null) {
    assert.ok(
      f.minContrast >= 3,
      `${step}: the focus ring of ${f.describe} (${f.outline}) has a contrast of ` +
        `${f.minContrast.toFixed(2)}:1 with what surrounds it; 3:1 is needed (samples: ` +
        f.samples
          .map((p) => `${p.ratio.toFixed(2)}:1 on ${p.background} at ${p.at.join(',')}`)
          .join('; ') +
        ')',
    );
  }
  return f;
}

/** Press Tab until `wanted(focus)` holds, checking the focus at every step. */
async function tabTo(page, what, wanted, max = 80) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    const f = await focusInfo(page);
    if (f.none) continue; // past the end of the document, before wrapping
    await assertFocusVisible(page, `Tab towards ${what}`);
    if (wanted(f)) return f;
  }
  throw new Error(`${what} not reached in ${max} presses of Tab`);
}

/** Press a key that navigates, and wait for the new page. */
async function pressAndWait(page, key) {
  await Promise.all([page.waitForNavigation(), page.keyboard.press(key)]);
}

test('keyboard only: skip link, window controls, maximize, a form, log out', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    // The login form, by keyboard.
    await page.goto(url('lycee', '/login'));
    await page.keyboard.press('Tab');
    let f = await assertFocusVisible(page, 'first Tab on the login page');
    assert.equal(f.name, 'Aller au contenu', 'the first Tab reaches the skip link');
    await page.keyboard.press('Enter');
    assert.equal(
      await page.evaluate(() => document.activeElement.id),
      'contenu',
      'the skip link moves the focus to main#contenu',
    );
    await page.keyboard.press('Tab');
    f = await assertFocusVisible(page, 'Tab after the skip link');
    assert.equal(f.id, 'login', 'after the skip link, Tab reaches the login field');
    await page.keyboard.type('eleve');
    await page.keyboard.press('Tab');
    f = await assertFocusVisible(page, 'Tab to the password');
    assert.equal(f.id, 'password');
    await page.keyboard.type('eleve');
    await pressAndWait(page, 'Enter');
    assert.equal(new URL(page.url()).pathname, '/page/accueil', 'logged in by keyboard');

    // The home page: skip link, then every window's controls, in document order.
    await page.keyboard.press('Tab');
    f = await assertFocusVisible(page, 'first Tab on the home page');
    assert.equal(f.name, 'Aller au contenu', 'the first Tab reaches the skip link');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'contenu');
    const expected = await page.$$eval('section.window', (sections) =>
      sections.map((s) => ({
        window: s.id,
        controls: [...s.querySelectorAll('.controls a, .controls button')].map((c) =>
          c.textContent.replace(/\s+/g, ' ').trim(),
        ),
      })),
    );
    assert.ok(expected.length >= 4, 'the home page has its windows');
    const reached = [];
    for (let i = 0; i < 200; i += 1) {
      await page.keyboard.press('Tab');
      const g = await focusInfo(page);
      if (g.none || !g.inMain) break;
      await assertFocusVisible(page, `Tab through the home page (${g.describe})`);
      reached.push(g);
    }
    // Windows are visited one after the other, never coming back to an earlier one.
    const order = expected.map((w) => w.window);
    const visited = reached.filter((g) => g.window).map((g) => g.window);
    const sequence = visited.filter((w, i) => i === 0 || visited[i - 1] !== w);
    assert.deepEqual(sequence, order, 'Tab visits the windows in page order, each once');
    for (const w of expected) {
      const mine = reached.filter((g) => g.window === w.window);
      const controls = mine.filter((g) => g.inControls).map((g) => g.name);
      assert.deepEqual(controls, w.controls, `${w.window}: Tab reaches every control, in order`);
      const firstBody = mine.findIndex((g) => !g.inControls);
      const lastControl = mine.map((g) => g.inControls).lastIndexOf(true);
      assert.ok(
        firstBody === -1 || lastControl < firstBody,
        `${w.window}: the controls come before the window's content`,
      );
    }

    // Maximize the notepad with the keyboard.
    await page.goto(url('lycee', '/page/accueil'));
    await tabTo(page, 'Agrandir – Bloc-notes', (g) => g.name === 'Agrandir – Bloc-notes');
    await pressAndWait(page, 'Enter');
    let u = new URL(page.url());
    assert.equal(u.pathname, '/page/accueil/bloc-notes');
    assert.equal(u.searchParams.get('state'), 'maximized');
    assert.equal(await page.locator('section.window').count(), 1, 'only the notepad shows');

    // Add a note with the keyboard: type, then activate the button.
    const text = `Note au clavier ${Date.now()}`;
    await tabTo(page, 'the new note field', (g) => g.tag === 'textarea');
    await page.keyboard.type(text);
    f = await tabTo(page, 'the Ajouter button', (g) => g.tag === 'button');
    assert.equal(f.name, 'Ajouter');
    await pressAndWait(page, 'Enter');
    u = new URL(page.url());
    assert.equal(u.pathname, '/page/accueil', 'the action redirects to the page (PRG)');
    assert.ok(
      await page.locator('#w-bloc-notes .note-text', { hasText: text }).isVisible(),
      'the note added by keyboard is shown',
    );

    // Log out with the keyboard.
    await tabTo(page, 'Se déconnecter', (g) => g.name === 'Se déconnecter');
    await pressAndWait(page, 'Enter');
    assert.equal(new URL(page.url()).pathname, '/login', 'logged out by keyboard');
    await page.goto(url('lycee', '/page/accueil'));
    assert.equal(new URL(page.url()).pathname, '/login', 'the session is gone');
  } finally {
    await context.close();
  }
});

// ---------------------------------------------------------------------------------------
// No JavaScript.

test('no JavaScript: log in, tabs, maximize, a form, preferences, log out', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    // JavaScript is really off.
    await page.goto('data:text/html,<title>off</title><script>document.title="on"</script>');
    assert.equal(await page.title(), 'off', 'scripts do not run');

    await login(page, 'lycee', 'enseignant');
    assert.equal(new URL(page.url()).pathname, '/page/accueil');

    // Switch tabs.
    await Promise.all([page.waitForNavigation(), page.click('nav.tabs a:text-is("Outils")')]);
    assert.equal(new URL(page.url()).pathname, '/page/outils');
    assert.equal(await page.getAttribute('nav.tabs a[aria-current=page]', 'href'), '/page/outils');
    assert.ok(await page.isVisible('#w-liens'), 'the Outils tab shows its window');
    await Promise.all([page.waitForNavigation(), page.click('nav.tabs a:text-is("Accueil")')]);
    assert.equal(new URL(page.url()).pathname, '/page/accueil');

    // Maximize a window.
    await Promise.all([
      page.waitForNavigation(),
      page.click('#w-bloc-notes .controls a:has-text("Agrandir")'),
    ]);
    assert.equal(new URL(page.url()).searchParams.get('state'), 'maximized');
    assert.equal(await page.locator('section.window').count(), 1);

    // A portlet form: action, then redirect to a GET (PRG).
    const addNote = async (text) => {
      await page.fill('#w-bloc-notes textarea[name=text]', text);
      const [response] = await Promise.all([
        page.waitForNavigation(),
        page.click('#w-bloc-notes form.note-add button[type=submit]'),
      ]);
      assert.equal(response.request().method(), 'GET', 'the action answered with a redirect');
      assert.equal(new URL(page.url()).pathname, '/page/accueil');
    };
    const first = `Sans JavaScript ${Date.now()}`;
    await addNote(first);
    const notes = page.locator('#w-bloc-notes .note-text');
    assert.ok(await notes.filter({ hasText: first }).isVisible(), 'the new note is shown');
    await page.reload();
    assert.equal(
      await notes.filter({ hasText: first }).count(),
      1,
      'reloading after the redirect does not post the note again',
    );

    // Preferences: show 5 notes, then check it took.
    await Promise.all([
      page.waitForNavigation(),
      page.click('#w-bloc-notes .controls a:has-text("Préférences")'),
    ]);
    assert.equal(new URL(page.url()).searchParams.get('mode'), 'edit');
    await page.selectOption('#w-bloc-notes select[name=max_notes]', '5');
    await Promise.all([
      page.waitForNavigation(),
      page.click('#w-bloc-notes form.prefs button[type=submit]'),
    ]);
    await page.goto(url('lycee', '/page/accueil/bloc-notes?mode=edit'));
    assert.equal(
      await page.inputValue('#w-bloc-notes select[name=max_notes]'),
      '5',
      'the preference was saved',
    );
    await page.goto(url('lycee', '/page/accueil'));
    for (let i = 1; i <= 5; i += 1) {
      await addNote(`Note ${i}`);
    }
    // Six notes at least now: five are shown, and a link to all of them.
    assert.equal(await notes.count(), 5, 'five notes shown, as the preference says');
    const all = page.locator('#w-bloc-notes a', { hasText: /^Voir les \d+ notes$/ });
    assert.ok(await all.isVisible(), 'a link shows all of them');

    // Log out.
    await Promise.all([page.waitForNavigation(), page.click('header form[action$="/logout"] button[type=submit]')]);
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.goto(url('lycee', '/page/accueil'));
    assert.equal(new URL(page.url()).pathname, '/login', 'the session is gone');
  } finally {
    await context.close();
  }
});

// ---------------------------------------------------------------------------------------
// Small screens.

describe('small screens: no horizontal scrolling at 360 px', () => {
  for (const who of WINDOW_SWEEPS) {
    test(`home of ${who}`, async () => {
      const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
      const page = await context.newPage();
      try {
        await login(page, 'lycee', who);
        const { scrollWidth, clientWidth } = await page.evaluate(() => ({
          scrollWidth: document.documentElement.scrollWidth,
          clientWidth: document.documentElement.clientWidth,
        }));
        assert.equal(clientWidth, 360);
        assert.ok(
          scrollWidth <= 360,
          `the home page of ${who} is ${scrollWidth} px wide at 360 px: it scrolls sideways`,
        );
      } finally {
        await context.close();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------
// Signets: the pages behind the bookmarks window's links and forms, which need data to
// exist (a folder, a link's and a folder's edit page with its sharing, a confirmation,
// a folder shared with a pupil), made through the forms and each audited.

describe('signets pages (axe-core, WCAG 2.1 AA)', () => {
  test('a folder, editing, sharing, a confirmation, a folder shared with a pupil', async () => {
    const failures = [];
    const folder = `Cours ${Date.now()}`;
    const visit = async (who, steps) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const audit = async (name, response) => {
        const results = await axe(page);
        if (problems(results).length > 0) {
          failures.push(`${name} (${page.url()}):\n${describeViolations(problems(results))}`);
        }
        await recordTitle(page, name, response);
      };
      const follow = async (selector) => {
        const [response] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
        assert.equal(response.status(), 200, `${selector} on ${page.url()}`);
        return response;
      };
      try {
        await login(page, 'lycee', who);
        await page.goto(url('lycee', '/page/outils/liens'));
        await steps(page, follow, audit);
      } finally {
        await context.close();
      }
    };
    await visit('enseignant', async (page, follow, audit) => {
      await page.fill('#w-liens-new-folder', folder);
      await follow('#w-liens form:has(#w-liens-new-folder) button[type=submit]');
      await follow(`#w-liens ul.links a:text("${folder}")`);
      await page.fill('#w-liens-link-title', 'Lumni');
      await page.fill('#w-liens-link-url', 'https://www.lumni.fr/');
      const inFolder = await follow('#w-liens form:has(#w-liens-link-title) button[type=submit]');
      assert.ok(await page.isVisible('#w-liens nav ol.crumbs'), 'the folder shows its path');
      await audit('signets: a folder', inFolder);
      await audit('signets: edit a link', await follow('#w-liens a[href*="p.modifier=lien-"]'));
      await audit('signets: confirm a deletion', await follow('#w-liens a[href*="p.supprimer=lien-"]'));
      await page.goto(url('lycee', '/page/outils/liens'));
      await follow('#w-liens a[href*="p.modifier=dossier-"]');
      await page.fill('#w-liens-share-user', 'eleve');
      const shared = await follow('#w-liens form:has(#w-liens-share-user) button[type=submit]');
      assert.ok(await page.locator('#w-liens li', { hasText: 'Léa Martin (eleve)' }).isVisible());
      await audit('signets: edit and share a folder', shared);
    });
    await visit('eleve', async (page, follow, audit) => {
      const response = await follow(`#w-liens ul.links a:has-text("${folder}")`);
      assert.ok(await page.locator('#w-liens a', { hasText: 'Lumni' }).isVisible());
      await audit('signets: a folder shared with a pupil', response);
    });
    assert.equal(failures.length, 0, `signets pages with violations:\n${failures.join('\n')}`);
  });
});

// The agenda's pages that only exist once an event does: the week view with an event's
// attachment and edit link, the edit form, and the view with an agenda hidden, made
// through the forms (an event with a file attached) and each audited.

describe('agenda pages (axe-core, WCAG 2.1 AA)', () => {
  test('an event with an attachment, its edit form, the view with an agenda hidden', async () => {
    const failures = [];
    const title = `Conseil de classe ${Date.now()}`;
    const context = await browser.newContext();
    const page = await context.newPage();
    const audit = async (name, response) => {
      const results = await axe(page);
      if (problems(results).length > 0) {
        failures.push(`${name} (${page.url()}):\n${describeViolations(problems(results))}`);
      }
      await recordTitle(page, name, response);
    };
    const follow = async (selector) => {
      const [response] = await Promise.all([page.waitForNavigation(), page.click(selector)]);
      assert.equal(response.status(), 200, `${selector} on ${page.url()}`);
      return response;
    };
    try {
      await login(page, 'lycee', 'enseignant');
      await page.goto(url('lycee', '/page/agenda/agenda?state=maximized'));
      await page.fill('#w-agenda-event-title', title);
      await page.fill('#w-agenda-day', '2026-12-09');
      await page.fill('#w-agenda-start', '17:00');
      await page.fill('#w-agenda-end', '19:00');
      await page.setInputFiles('#w-agenda-attachment', {
        name: 'ordre-du-jour.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('1. Bilan du trimestre\n2. Orientation\n'),
      });
      const week = await follow('#w-agenda form:has(#w-agenda-event-title) button[type=submit]');
      assert.ok(await page.locator('#w-agenda', { hasText: title }).first().isVisible(), 'the event is shown');
      assert.ok(
        await page.locator('#w-agenda .agenda-attachments a', { hasText: 'ordre-du-jour.txt' }).first().isVisible(),
        'its attachment is linked',
      );
      await audit('agenda: the week with an event, its attachment and edit link', week);
      const edit = await follow(`#w-agenda a.agenda-edit:has-text("${title}")`);
      assert.equal(await page.inputValue('#w-agenda-event-title'), title, 'the edit form is filled');
      await audit('agenda: edit an event', edit);
      await page.goto(url('lycee', '/page/agenda/agenda?p.date=2026-12-09'));
      await page.locator('#w-agenda .agenda-filter input[type=checkbox]').first().uncheck();
      const filtered = await follow('#w-agenda .agenda-filter button[type=submit]');
      await audit('agenda: the week with an agenda hidden', filtered);
    } finally {
      await context.close();
    }
    assert.equal(failures.length, 0, `agenda pages with violations:\n${failures.join('\n')}`);
  });
});
