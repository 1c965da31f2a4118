// Helpers of the browser suite: the browser, logins, axe audits, focus checks.
import { AxeBuilder } from '@axe-core/playwright';
import { chromium } from 'playwright-core';

import { AXE_TAGS } from './pages.mjs';

/** The servers under test, started by run.sh (which scripts/test.sh calls). */
export const SERVERS = {
  lycee: process.env.CARTABLE_LYCEE_URL,
  fixture: process.env.CARTABLE_FIXTURE_URL,
};
for (const [name, url] of Object.entries(SERVERS)) {
  if (!url) {
    throw new Error(
      `CARTABLE_${name.toUpperCase()}_URL is not set: run the suite through tests/browser/run.sh`,
    );
  }
}

/**
 * Debian's chromium, headless. Playwright gives each launch a fresh temporary profile
 * (its own --user-data-dir under $TMPDIR, removed at close).
 */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A full URL on a server. */
export function url(server, path) {
  return new URL(path, SERVERS[server]).href;
}

/** Log in through the login form (a demo account's password is its login). */
export async function login(page, server, who, password = who) {
  await page.goto(url(server, '/login'));
  await page.fill('#login', who);
  await page.fill('#password', password);
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.click('form.login button[type=submit]'),
  ]);
  if (password === who && new URL(page.url()).pathname === '/login') {
    throw new Error(`login of ${who} on ${server} failed: still on ${page.url()}`);
  }
  return response;
}

/** Run axe-core with the suite's WCAG tags; every rule of those tags is on. */
export async function axe(page) {
  return new AxeBuilder({ page }).withTags(AXE_TAGS).analyze();
}

/**
 * What fails a page: every violation, and every text whose colour contrast axe could not
 * determine ("incomplete" color-contrast results), so that contrast is checked everywhere.
 */
export function problems(results) {
  const undetermined = results.incomplete
    .filter((r) => r.id === 'color-contrast')
    .map((r) => ({ ...r, id: `${r.id} (undetermined)` }));
  return [...results.violations, ...undetermined];
}

/** One line per failing node: rule id, impact, target, help (and what to fix). */
export function describeViolations(violations) {
  const lines = [];
  for (const v of violations) {
    for (const n of v.nodes) {
      const [fix = '', ...reasons] = (n.failureSummary ?? '')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      lines.push(
        `  - ${v.id} (${v.impact}) at ${n.target.join(' ')}: ${v.help} <${v.helpUrl}>` +
          (fix ? `\n      ${fix} ${reasons.join('; ')}` : ''),
      );
    }
  }
  return lines.join('\n');
}

/**
 * Which page this is, for "distinct pages have distinct titles": its URL, language and
 * HTTP status (the same URL may answer a page, an error state or a 403 page).
 */
export async function pageIdentity(page, response) {
  const u = new URL(page.url());
  const lang = await page.evaluate(() => document.documentElement.lang);
  return `${u.origin}${u.pathname}${u.search} [${lang}, ${response?.status() ?? '?'}]`;
}

/**
 * The focused element and whether its focus is visible: an outline (style not none,
 * width > 0) or a box-shadow; for an outline, its contrast with what lies next to it
 * (WCAG 1.4.11 asks 3:1 for the focus indicator), sampled on each side of the element
 * where the ring is drawn.
 */
export async function focusInfo(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body || el === document.documentElement) {
      return { none: true };
    }
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1]
        .split(/[ ,/]+/)
        .filter(Boolean)
        .map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const contrast = (x, y) => {
      const [a, b] = [lum(x), lum(y)].sort((p, q) => q - p);
      return (a + 0.05) / (b + 0.05);
    };
    // The opaque background colour painted at a point, outside `el`'s descendants.
    const backgroundAt = (x, y) => {
      let node = document.elementsFromPoint(x, y).find((e) => e === el || !el.contains(e));
      const layers = [];
      for (; node; node = node.parentElement) {
        const c = parse(getComputedStyle(node).backgroundColor);
        if (c && c.a > 0) {
          layers.push(c);
          if (c.a >= 1) break;
        }
      }
      let colour = { r: 255, g: 255, b: 255 };
      for (const c of layers.reverse()) {
        colour = {
          r: c.r * c.a + colour.r * (1 - c.a),
          g: c.g * c.a + colour.g * (1 - c.a),
          b: c.b * c.a + colour.b * (1 - c.a),
        };
      }
      return colour;
    };
    const s = getComputedStyle(el);
    const outlineWidth = parseFloat(s.outlineWidth) || 0;
    const hasOutline = s.outlineStyle !== 'none' && outlineWidth > 0;
    const hasShadow = s.boxShadow !== 'none' && s.boxShadow !== '';
    const rect = el.getBoundingClientRect();
    const name = (
      el.getAttribute('aria-label') ||
      el.textContent ||
      el.getAttribute('name') ||
      el.id ||
      ''
    )
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 60);
    const info = {
      none: false,
      tag: el.tagName.toLowerCase(),
      id: el.id,
      name,
      describe: `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}> “${name}”`,
      outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`,
      boxShadow: s.boxShadow,
      visible: (hasOutline || hasShadow) && rect.width > 0 && rect.height > 0,
      onScreen:
        rect.bottom > 0 &&
        rect.right > 0 &&
        rect.top < window.innerHeight &&
        rect.left < window.innerWidth,
      window: el.closest('section.window')?.id ?? null,
      inControls: !!el.closest('.controls'),
      inMain: !!el.closest('main'),
      minContrast: null,
    };
    if (hasOutline) {
      const ring = parse(s.outlineColor);
      // Distance from the border edge to the middle of the ring (negative: inside).
      const d = (parseFloat(s.outlineOffset) || 0) + outlineWidth / 2;
      const midX = rect.left + rect.width / 2;
      const midY = rect.top + rect.height / 2;
      const points = [
        [rect.left - d, midY],
        [rect.right + d, midY],
        [midX, rect.top - d],
        [midX, rect.bottom + d],
      ].filter(([x, y]) => x >= 0 && y >= 0 && x < window.innerWidth && y < window.innerHeight);
      const hex = ({ r, g, b }) =>
        `#${[r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
      info.samples = points.map(([x, y]) => {
        const bg = backgroundAt(x, y);
        return {
          at: [Math.round(x), Math.round(y)],
          background: hex(bg),
          ratio: contrast(ring, bg),
        };
      });
      info.minContrast = info.samples.length ? Math.min(...info.samples.map((p) => p.ratio)) : null;
    }
    return info;
  });
}
