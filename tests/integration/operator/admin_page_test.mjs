// The admin page in a real browser: Debian's chromium, driven by playwright-core (never a
// downloaded browser). Run by browser_test.cpp, which starts the serve process and passes:
//   ADMIN_URL               http://127.0.0.1:PORT of the admin server (page at / and /admin)
//   ADMIN_TOKEN             the bearer token the server requires on /api/*
//   POOL                    the pool under load
//   OUTPUT_DIR              where screenshots go
//   CHROMIUM                the browser binary (/usr/bin/chromium)
//   PLAYWRIGHT_PREFIX       the npm --prefix holding node_modules/playwright-core
//   OUTAGE_KIND             redis-shutdown (with OUTAGE_PORT) or signal (OUTAGE_PID, OUTAGE_SIGNAL)
//   CLUSTER_POOL, CLUSTER_NODES  optional: a Redis Cluster pool and its nodes (host:port,...);
//                           each node pool's card must show its node, and the cards stay in order
//   PROXY, PROXY_PORT       optional: a `connpool proxy` forwarding to POOL, listening on
//                           127.0.0.1:PROXY_PORT; the pool's card must show it as the JSON does
// Exit code 0 when every check passed; every failed check is printed. Screenshots are taken with
// animations disabled, so a bar is never caught halfway through its CSS transition.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) { console.error(`missing environment variable ${name}`); process.exit(2); }
  return v;
};
const ADMIN_URL = env('ADMIN_URL');
const TOKEN = env('ADMIN_TOKEN');
const POOL = env('POOL');
const OUTPUT_DIR = env('OUTPUT_DIR');
const CHROMIUM = env('CHROMIUM');
const require = createRequire(path.join(env('PLAYWRIGHT_PREFIX'), 'package.json'));
const { chromium } = require('playwright-core');
const API_PATH = '/api/v1/admin/connection-pools';
const TOKEN_KEY = 'connpool.admin.token';
const CLUSTER_POOL = process.env.CLUSTER_POOL || '';
const CLUSTER_NODES = (process.env.CLUSTER_NODES || '').split(',').filter(Boolean);
const PROXY = process.env.PROXY || '';

// Whole-run bound: the C++ driver also kills us, this just reports where we were.
let phase = 'start';
const watchdog = setTimeout(() => {
  console.error(`FAIL: timed out in phase "${phase}"`);
  process.exit(3);
}, 240_000);

const failures = [];
function check(cond, message) {
  if (!cond) { failures.push(`[${phase}] ${message}`); console.error(`FAIL [${phase}] ${message}`); }
  return Boolean(cond);
}
const log = (...a) => console.log(`[${phase}]`, ...a);

fs.mkdirSync(OUTPUT_DIR, { recursive: true });
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'connpool-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1280, height: 900 },
  timeout: 60_000,
});

try {
  await run();
} catch (e) {
  failures.push(`[${phase}] exception: ${e && e.stack || e}`);
  console.error(`FAIL [${phase}]`, e);
} finally {
  await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}
if (failures.length) {
  console.error(`\n${failures.length} check(s) failed:\n  ` + failures.join('\n  '));
  process.exit(1);
}
console.log('admin page: all checks passed');
process.exit(0);

async function run() {
  // Every API exchange the page makes goes through here: the response is fetched from the real
  // server and handed to the page unchanged, and recorded, so the test knows exactly which JSON
  // each render came from.
  const exchanges = [];              // {auth, status}
  const bodies = new Map();          // generated_at -> parsed JSON the page received
  await context.route(`**${API_PATH}`, async (route) => {
    try {
      const auth = route.request().headers()['authorization'] || '';
      const response = await route.fetch();
      const text = await response.text();
      exchanges.push({ auth, status: response.status() });
      if (response.status() === 200) {
        const body = JSON.parse(text);
        bodies.set(body.generated_at, body);
      }
      await route.fulfill({ response, body: text });
    } catch (e) {
      // The context is closing (or the server went away): let the page see a network error.
      await route.abort().catch(() => {});
    }
  });
  const pageErrors = [];
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    // Chromium logs every non-2xx fetch; the 401s are part of the token flow.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) pageErrors.push(m.text());
  });

  // ---- the page is served, and asks for the token once -------------------------------------
  phase = 'token';
  const first = await page.goto(`${ADMIN_URL}/`, { waitUntil: 'load' });
  check(first.status() === 200, `GET / answered ${first.status()}`);
  check((first.headers()['content-type'] || '').startsWith('text/html'),
        `GET / content-type ${first.headers()['content-type']}`);
  await page.waitForSelector('#auth:not([hidden])', { timeout: 15_000 });
  check(exchanges.length >= 1 && exchanges[0].status === 401 && exchanges[0].auth === '',
        `first API call should be unauthenticated and get 401: ${JSON.stringify(exchanges)}`);
  check(await page.locator('article[data-pool]').count() === 0, 'pools shown without a token');
  // The input is labelled (accessible name), and focused for typing.
  check(await page.getByLabel('Bearer token').count() === 1, 'token input has no label');

  await page.getByLabel('Bearer token').fill('not-the-token');
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.waitForSelector('#token-error:not([hidden])', { timeout: 15_000 });
  check(/rejected/.test(await page.textContent('#token-error')), 'no "rejected" message');
  check(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY) === null,
        'a rejected token stayed in sessionStorage');

  await page.getByLabel('Bearer token').fill(TOKEN);
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.waitForSelector(`article[data-pool="${POOL}"]`, { timeout: 15_000 });
  check(await page.isHidden('#auth'), 'token form still shown after a good token');
  check(await page.evaluate((k) => sessionStorage.getItem(k), TOKEN_KEY) === TOKEN,
        'token not kept in sessionStorage');
  check(await page.evaluate(() => localStorage.length) === 0, 'something went to localStorage');
  const authed = exchanges.filter((x) => x.status === 200);
  check(authed.length > 0 && authed.every((x) => x.auth === `Bearer ${TOKEN}`),
        'successful API calls must carry the bearer token');

  // Reload: the token comes from sessionStorage, no second prompt. Also under /admin.
  const before = exchanges.length;
  await page.goto(`${ADMIN_URL}/admin`, { waitUntil: 'load' });
  await page.waitForSelector(`article[data-pool="${POOL}"]`, { timeout: 15_000 });
  check(await page.isHidden('#auth'), 'asked for the token again after a reload');
  check(exchanges.slice(before).every((x) => x.status === 200), 'a 401 after the reload');

  // ---- numbers shown == the JSON the page rendered, under load -----------------------------
  phase = 'numbers';
  // Enough samples for the sparklines (and for a screenshot that shows them).
  await page.waitForFunction((pool) => {
    const svg = document.querySelector(`article[data-pool="${pool}"] svg[data-chart="utilization"]`);
    return svg && Number(svg.getAttribute('data-points')) >= 8;
  }, POOL, { timeout: 60_000, polling: 500 });
  await compareWithJson(page, bodies, 'healthy');
  check(await page.getAttribute(`article[data-pool="${POOL}"]`, 'data-state') === 'healthy',
        'pool not healthy before the outage');

  // An independent fetch from this script: the pool is under load (acquires keep growing) and
  // the static facts match what the page shows.
  const headers = { Authorization: `Bearer ${TOKEN}` };
  const j1 = await (await fetch(`${ADMIN_URL}${API_PATH}/${encodeURIComponent(POOL)}`, { headers })).json();
  await new Promise((r) => setTimeout(r, 2500));
  const j2 = await (await fetch(`${ADMIN_URL}${API_PATH}/${encodeURIComponent(POOL)}`, { headers })).json();
  check(j2.counters.acquires > j1.counters.acquires, `pool not under load: acquires ${j1.counters.acquires} -> ${j2.counters.acquires}`);
  const shown = await fields(page);
  check(shown.backend === j2.backend, `backend ${shown.backend} != ${j2.backend}`);
  check(shown.target === j2.target, `target ${shown.target} != ${j2.target}`);
  check(!/:[^@/]*@/.test(shown.target) || /\*\*\*/.test(shown.target), 'target shows a password');
  check(shown['size.max'] === String(j2.size.max), 'max_size differs from a direct fetch');
  check(Number(shown['counters.acquires']) <= j2.counters.acquires, 'page shows more acquires than exist');
  await page.screenshot({ path: path.join(OUTPUT_DIR, 'admin-page-laptop.png'), fullPage: true, animations: 'disabled' });
  await readmeScreenshot(page);

  // ---- Redis Cluster: one card per node pool, showing its node, kept together ----------------
  if (CLUSTER_POOL) {
    phase = 'cluster';
    await page.waitForFunction((n) => document.querySelectorAll('article[data-node]').length >= n,
      CLUSTER_NODES.length, { timeout: 30_000, polling: 250 });
    for (const node of CLUSTER_NODES) {
      const name = `${CLUSTER_POOL}@${node}`;
      const card = `article[data-pool="${name}"]`;
      if (!check(await page.locator(card).count() === 1, `no card for node pool ${name}`)) continue;
      check(await page.getAttribute(card, 'data-node') === node, `${name}: data-node is not ${node}`);
      check(await page.getAttribute(`${card} [data-field="node"]`, 'data-value') === node,
            `${name}: node field is not ${node}`);
      // Visible, in the meta line, as text a person reads.
      const meta = await page.innerText(`${card} .meta`);
      check(meta.includes(`node ${node}`), `${name}: meta line "${meta}" does not show the node`);
    }
    await compareWithJson(page, bodies, 'cluster node', `${CLUSTER_POOL}@${CLUSTER_NODES[0]}`);
    // The plain pool's card shows no node.
    check(await page.getAttribute(`article[data-pool="${POOL}"] [data-field="node"]`, 'data-value') === '' &&
          !(await page.innerText(`article[data-pool="${POOL}"] .meta`)).includes('node'),
          `${POOL} shows a node`);
    // Cards follow the JSON's order (by name), so a cluster's node pools sit together.
    const order = await page.evaluate(() => ({
      generatedAt: document.body.getAttribute('data-generated-at'),
      names: [...document.querySelectorAll('article[data-pool]')].map((a) => a.dataset.pool),
    }));
    const body = bodies.get(order.generatedAt);
    if (check(body, `cluster: rendered JSON ${order.generatedAt} was never received`)) {
      const want = body.pools.map((p) => p.name);
      check(JSON.stringify(order.names) === JSON.stringify(want),
            `cards ${JSON.stringify(order.names)} not in the JSON's order ${JSON.stringify(want)}`);
    }
    const at = order.names.map((n, i) => (n.startsWith(`${CLUSTER_POOL}@`) ? i : -1)).filter((i) => i >= 0);
    check(at.length >= CLUSTER_NODES.length && at[at.length - 1] - at[0] === at.length - 1,
          `the cluster's cards are not together: ${JSON.stringify(order.names)}`);
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'admin-page-cluster.png'), fullPage: true, animations: 'disabled' });
  }

  // ---- proxy: the pool's card shows the proxy forwarding to it, numbers == JSON --------------
  if (PROXY) {
    phase = 'proxy';
    const port = Number(env('PROXY_PORT'));
    // One forwarded command, one refused by a rule (monitor), then QUIT: the proxy closes.
    await sendToProxy(port, '*3\r\n$3\r\nSET\r\n$5\r\nproxy\r\n$1\r\n1\r\n' +
      '*1\r\n$7\r\nMONITOR\r\n*1\r\n$4\r\nQUIT\r\n');
    const section = `article[data-pool="${POOL}"] section.proxy[data-proxy="${PROXY}"]`;
    await page.waitForFunction((s) => {
      const e = document.querySelector(`${s} [data-field="proxy.refused"]`);
      return e && e.getAttribute('data-value') !== '{}';
    }, section, { timeout: 30_000, polling: 250 });
    check(await page.isVisible(section), 'the proxy section is not visible');
    const shown = await fields(page);
    const body = bodies.get(shown.generatedAt);
    const x = body && (body.pools.find((p) => p.name === POOL).proxies || []).find((p) => p.name === PROXY);
    if (check(x, `proxy: ${PROXY} missing from the rendered JSON ${shown.generatedAt}`)) {
      const refused = Object.fromEntries(Object.entries(x.refused_by_rule).filter(([, n]) => n > 0));
      const expect = {
        'proxy.listen': x.listen.join(', '),
        'proxy.clients.connected': x.clients.connected, 'proxy.clients.pinned': x.clients.pinned,
        'proxy.clients.subscribed': x.clients.subscribed, 'proxy.clients.total': x.clients.total,
        'proxy.commands.ok': x.commands.ok, 'proxy.commands.error': x.commands.error,
        'proxy.commands.failed': x.commands.failed, 'proxy.commands.local': x.commands.local,
        'proxy.latency_p50': x.latency_seconds.p50, 'proxy.latency_p99': x.latency_seconds.p99,
        'proxy.refused': JSON.stringify(refused),
      };
      for (const [k, v] of Object.entries(expect)) {
        const want = v === null || v === undefined ? '' : String(v);
        check(shown[k] === want, `proxy: ${k} shows ${JSON.stringify(shown[k])}, JSON has ${JSON.stringify(want)}`);
      }
      check(x.listen.includes(`127.0.0.1:${port}`), `proxy: listen ${JSON.stringify(x.listen)}`);
      check(x.refused_by_rule.monitor >= 1 && x.commands.ok >= 1,
            `proxy: the commands sent are not counted: ${JSON.stringify(x)}`);
      check(shown['text:proxy.refused'].includes('monitor'),
            `proxy: refused text "${shown['text:proxy.refused']}" does not name the rule`);
      log(`proxy ${PROXY}: ${Object.keys(expect).length} fields match JSON ${shown.generatedAt} ` +
          `(ok ${x.commands.ok}, refused ${shown['text:proxy.refused']})`);
    }
    // Taken again now that the proxy has counted traffic, so the README shows a working proxy.
    await readmeScreenshot(page);
    // Pools no proxy forwards to show no proxy section.
    if (CLUSTER_POOL) {
      check(await page.isHidden(`article[data-pool="${CLUSTER_POOL}@${CLUSTER_NODES[0]}"] .proxies`),
            'a proxy section on a pool without proxies');
    }
  }

  // ---- phone width --------------------------------------------------------------------------
  phase = 'phone';
  await page.setViewportSize({ width: 375, height: 812 });
  await waitForNextRender(page);
  const overflow = await page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > vw + 0.5 && e.getClientRects().length)
      .map((e) => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
    return { scroll: document.documentElement.scrollWidth, vw, wide: wide.slice(0, 5) };
  });
  check(overflow.scroll <= overflow.vw, `horizontal overflow at 375 px: ${JSON.stringify(overflow)}`);
  check(overflow.wide.length === 0, `elements wider than the viewport: ${overflow.wide.join(', ')}`);
  await compareWithJson(page, bodies, 'phone');
  await page.screenshot({ path: path.join(OUTPUT_DIR, 'admin-page-phone.png'), fullPage: true, animations: 'disabled' });
  await page.setViewportSize({ width: 1280, height: 900 });

  // ---- accessibility basics -----------------------------------------------------------------
  phase = 'a11y';
  const a11y = await page.evaluate(() => {
    const problems = [];
    if (!document.documentElement.lang) problems.push('no lang');
    if (!document.querySelector('main')) problems.push('no <main>');
    if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
    for (const a of document.querySelectorAll('article[data-pool]')) {
      const h = document.getElementById(a.getAttribute('aria-labelledby'));
      if (!h || !h.textContent) problems.push('article without a heading');
    }
    for (const s of document.querySelectorAll('svg[data-chart]')) {
      if (s.getAttribute('role') !== 'img' || !s.getAttribute('aria-label')) problems.push('chart without a text alternative');
    }
    for (const i of document.querySelectorAll('input')) {
      if (!i.labels || !i.labels.length) problems.push('input without a label');
    }
    if (!document.querySelector('[role="status"][aria-live]')) problems.push('no live status region');
    return problems;
  });
  check(a11y.length === 0, `accessibility: ${a11y.join('; ')}`);

  // ---- outage: the backend goes away, the pool turns degraded -------------------------------
  phase = 'outage';
  await causeOutage();
  log('outage started; waiting for the page to show it');
  await page.waitForFunction((pool) => {
    const a = document.querySelector(`article[data-pool="${pool}"]`);
    return a && (a.dataset.state === 'degraded' || a.dataset.state === 'circuit_open');
  }, POOL, { timeout: 60_000, polling: 250 });
  const card = `article[data-pool="${POOL}"]`;
  const state = await page.getAttribute(card, 'data-state');
  log(`pool state ${state}`);
  check(await page.isVisible(`${card} [data-field="reasons"]`), 'no reasons shown for the degraded state');
  check((await page.textContent(`${card} [data-field="state"]`)).trim() !== 'healthy', 'badge still says healthy');
  // Errors show up by type, with the last error.
  await page.waitForFunction((c) => document.querySelector(`${c} tr[data-error-type]:not([data-error-type=""])`)
    && document.querySelector(`${c} [data-field="last_error"]`).getAttribute('data-value') !== '', card,
    { timeout: 60_000, polling: 250 });
  await compareWithJson(page, bodies, 'outage');
  await page.screenshot({ path: path.join(OUTPUT_DIR, 'admin-page-outage.png'), fullPage: true, animations: 'disabled' });

  phase = 'end';
  check(pageErrors.length === 0, `errors in the page: ${pageErrors.join(' | ')}`);
}

// Writes RESP `bytes` to the proxy on 127.0.0.1:`port` and resolves when the proxy closes the
// connection (the bytes end with QUIT), so every command before it has been counted.
function sendToProxy(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.setTimeout(10_000, () => { s.destroy(); reject(new Error('proxy did not close after QUIT')); });
    s.on('data', () => {});
    s.on('error', reject);
    s.on('close', resolve);
  });
}

// Reads every data-field of the pool card, plus the JSON generated_at it was rendered from, in
// one synchronous evaluation (no render can interleave).
async function fields(page, pool = POOL) {
  return page.evaluate((pool) => {
    const a = document.querySelector(`article[data-pool="${pool}"]`);
    const out = { generatedAt: document.body.getAttribute('data-generated-at'), state: a.dataset.state };
    for (const f of a.querySelectorAll('[data-field]')) {
      out[f.dataset.field] = f.getAttribute('data-value');
      out['text:' + f.dataset.field] = f.textContent;
    }
    out.errors = {};
    for (const tr of a.querySelectorAll('tr[data-error-type]')) {
      if (tr.dataset.errorType) out.errors[tr.dataset.errorType] = Number(tr.lastChild.dataset.value);
    }
    for (const k of ['idle', 'active', 'connecting', 'waiting']) {
      out['bar:' + k] = a.querySelector(`.bar.${k} > span`).style.width;
    }
    for (const c of a.querySelectorAll('svg[data-chart]')) {
      out['chart:' + c.dataset.chart] = {
        points: Number(c.getAttribute('data-points')),
        drawn: (c.querySelector('polyline').getAttribute('points') || '').trim().split(/\s+/).filter(Boolean).length,
      };
    }
    return out;
  }, pool);
}

// The README's picture (docs/images/admin-page.png): the header and the cards, no empty space.
async function readmeScreenshot(page) {
  const box = await page.evaluate(() => {
    const r = [...document.querySelectorAll('article[data-pool]')].map((a) => a.getBoundingClientRect());
    return { right: Math.max(...r.map((x) => x.right)), bottom: Math.max(...r.map((x) => x.bottom)) };
  });
  await page.screenshot({ path: path.join(OUTPUT_DIR, 'admin-page.png'), animations: 'disabled',
    clip: { x: 0, y: 0, width: Math.min(1280, Math.ceil(box.right) + 20), height: Math.ceil(box.bottom) + 20 } });
}

async function waitForNextRender(page) {
  const g = await page.getAttribute('body', 'data-generated-at');
  await page.waitForFunction((prev) => document.body.getAttribute('data-generated-at') !== prev, g,
    { timeout: 15_000, polling: 100 });
}

async function compareWithJson(page, bodies, label, pool = POOL) {
  const shown = await fields(page, pool);
  const body = bodies.get(shown.generatedAt);
  if (!check(body, `${label}: rendered JSON ${shown.generatedAt} was never received`)) return;
  const p = body.pools.find((x) => x.name === pool);
  if (!check(p, `${label}: pool ${pool} missing from the JSON`)) return;
  const expect = {
    'backend': p.backend, 'target': p.target, 'node': p.node,
    'size.idle': p.size.idle, 'size.active': p.size.active, 'size.connecting': p.size.connecting,
    'size.waiting': p.waiting, 'size.max': p.size.max, 'size.total': p.size.total,
    'utilization': p.utilization,
    'counters.acquires': p.counters.acquires, 'counters.acquire_timeouts': p.counters.acquire_timeouts,
    'counters.created': p.counters.created, 'counters.closed_total': p.counters.closed_total,
    'counters.health_checks.ok': p.counters.health_checks.ok,
    'counters.health_checks.failed': p.counters.health_checks.failed,
    'wait_p50': p.wait_seconds.p50, 'wait_p99': p.wait_seconds.p99,
    'usage_p50': p.usage_seconds.p50, 'usage_p99': p.usage_seconds.p99,
    'circuit.state': p.circuit.state,
    'last_error': p.last_error ? p.last_error.type : null,
  };
  for (const [k, v] of Object.entries(expect)) {
    const want = v === null || v === undefined ? '' : String(v);
    check(shown[k] === want, `${label}: ${k} shows ${JSON.stringify(shown[k])}, JSON has ${JSON.stringify(want)}`);
  }
  check(shown['text:utilization'] === (p.utilization * 100).toFixed(1) + ' %',
        `${label}: utilization text ${shown['text:utilization']}`);
  if (p.last_error) {
    check(shown['text:last_error'] === `${p.last_error.type}: ${p.last_error.message}`,
          `${label}: last error text ${shown['text:last_error']}`);
  }
  const shownTypes = Object.keys(shown.errors).sort();
  const jsonTypes = Object.keys(p.counters.errors).sort();
  check(JSON.stringify(shownTypes) === JSON.stringify(jsonTypes) &&
        jsonTypes.every((t) => shown.errors[t] === p.counters.errors[t]),
        `${label}: errors ${JSON.stringify(shown.errors)} != ${JSON.stringify(p.counters.errors)}`);
  const max = p.size.max || 1;
  for (const [k, v] of [['idle', p.size.idle], ['active', p.size.active],
                        ['connecting', p.size.connecting], ['waiting', p.waiting]]) {
    // The browser normalizes the style ("0.0%" reads back as "0%"): compare as numbers.
    const want = Math.min(100, (v / max) * 100);
    const bar = shown['bar:' + k];
    check(/%$/.test(bar) && Math.abs(parseFloat(bar) - want) < 0.051,
          `${label}: ${k} bar ${bar}, want ${want.toFixed(1)}%`);
  }
  for (const c of ['utilization', 'wait_p99']) {
    const chart = shown['chart:' + c];
    check(chart && chart.points >= 1 && chart.drawn === chart.points,
          `${label}: chart ${c} ${JSON.stringify(chart)}`);
  }
  // The page's state follows the documented rules for what the server reported.
  if (p.state === 'circuit_open') check(shown.state === 'circuit_open', `${label}: circuit open not shown`);
  if (p.state === 'degraded') check(shown.state === 'degraded', `${label}: server-degraded not shown as degraded`);
  log(`${label}: ${Object.keys(expect).length} fields match JSON ${shown.generatedAt} (state ${shown.state})`);
}

async function causeOutage() {
  const kind = env('OUTAGE_KIND');
  if (kind === 'signal') {
    process.kill(Number(env('OUTAGE_PID')), env('OUTAGE_SIGNAL'));
    return;
  }
  if (kind !== 'redis-shutdown') throw new Error(`unknown OUTAGE_KIND ${kind}`);
  // SHUTDOWN NOSAVE: redis-server exits; the connection closes without a reply.
  await new Promise((resolve, reject) => {
    const s = net.connect(Number(env('OUTAGE_PORT')), '127.0.0.1', () => {
      s.write('*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n');
    });
    s.setTimeout(10_000, () => { s.destroy(); reject(new Error('SHUTDOWN timed out')); });
    s.on('data', (d) => log(`redis replied ${JSON.stringify(String(d))}`));
    s.on('error', (e) => (e.code === 'ECONNRESET' ? resolve() : reject(e)));
    s.on('close', () => resolve());
  });
}
