// End-to-end test of the demo page (www/index.html over the packed entry /pkg/index.js): three
// Chromium pages log in, join one channel through the UI exactly like khave does, and check each
// other through the page's accessibility hooks (participant aria-labels, aria-pressed, the
// role=status announcer). Needs pkg/ built (bash scripts/build_pkg.sh) and the reference server
// serving the repo root (SOHBET_STATIC_DIR) at SOHBET_HTTP_URL with its socket at SOHBET_WS_URL.
// Writes .artifacts/demo.png. Prints `e2e: N passed, M failed`; exits non-zero on failure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HTTP = (process.env.SOHBET_HTTP_URL ?? 'http://127.0.0.1:18080').replace(/\/+$/, '');
const WS = process.env.SOHBET_WS_URL ?? HTTP.replace(/^http/, 'ws').replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`);
const ARTIFACTS = path.join(ROOT, '.artifacts');
const TIMEOUT = Number(process.env.DEMO_E2E_TIMEOUT_MS ?? 20000);
const ONLY = process.argv[2];

const results = [];
const pages = {};
let browser;
let channel;

function log(...a) { console.log(...a); }

async function step(name, fn) {
  if (ONLY && !name.includes(ONLY) && !name.startsWith('setup')) return;
  const t0 = Date.now();
  try {
    const note = await fn();
    results.push([name, true]);
    log(`ok   ${name} (${Date.now() - t0} ms)${note ? ` — ${note}` : ''}`);
  } catch (e) {
    results.push([name, false]);
    log(`FAIL ${name} (${Date.now() - t0} ms): ${String(e?.message ?? e).split('\n')[0]}`);
    for (const [who, p] of Object.entries(pages)) {
      const tail = p.logs.slice(-6);
      if (tail.length) log(tail.map((l) => `     [${who}] ${l}`).join('\n'));
    }
  }
}

function check(cond, message) { if (!cond) throw new Error(message); }

async function launch() {
  const flags = JSON.parse(fs.readFileSync(path.join(ROOT, 'webdriver.json'), 'utf8'))['goog:chromeOptions'];
  const args = flags.args.filter((a) => !a.startsWith('--headless'));
  return chromium.launch({ executablePath: flags.binary ?? '/usr/bin/chromium', headless: true, args });
}

async function openDemo(name, tone, extra = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
  const page = await context.newPage();
  const logs = [];
  const errors = [];
  const sockets = [];
  page.on('websocket', (w) => { if (w.url().startsWith(WS)) sockets.push(w.url()); });
  page.on('console', (m) => { if (m.type() !== 'debug') logs.push(`[${m.type()}] ${m.text()}`); });
  page.on('pageerror', (e) => { logs.push(`[pageerror] ${e.message}`); errors.push(e.message); });
  const q = new URLSearchParams({ ws: WS, tone: String(tone), ...extra });
  await page.goto(`${HTTP}/www/index.html?${q}`);
  const p = { name, page, context, logs, errors, sockets };
  pages[name] = p;
  return p;
}

const participants = (p) => p.page.getByRole('list', { name: 'Voice channel participants' });
const peer = (p, username) => participants(p).locator(`li[aria-label^="${username}, "]`);
const label = (p, username) => peer(p, username).getAttribute('aria-label', { timeout: 1000 });

async function waitLabel(p, username, re, timeout = TIMEOUT) {
  const t0 = Date.now();
  try {
    await p.page.waitForFunction(([u, src]) => {
      const list = document.querySelector('[aria-label="Voice channel participants"]');
      const li = [...(list?.querySelectorAll('li') ?? [])].find((e) => e.getAttribute('aria-label')?.startsWith(`${u}, `));
      return li && new RegExp(src).test(li.getAttribute('aria-label'));
    }, [username, re.source], { timeout });
  } catch (e) {
    const now = await label(p, username).catch(() => null);
    const list = await p.page.evaluate(() => JSON.stringify(window.sohbetDemo.webrtcService.getParticipants()
      .map((x) => ({ id: x.userId, n: x.username, lvl: x.audioLevel, sp: x.isSpeaking, st: !!x.stream,
        tracks: x.stream ? x.stream.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.enabled}:${t.muted}`) : [] })))
      + ` streams: ${JSON.stringify(window.sohbetDemo.webrtcService.getParticipants().map((x) => x.stream?.id))}`
      + ` audio elements: ${JSON.stringify([...document.querySelectorAll('audio')].map((a) => [a.srcObject?.id, a.paused, a.srcObject?.getTracks().map((t) => t.readyState)]))}`).catch((e) => String(e));
    throw new Error(`page ${p.name}: "${username}" never matched ${re} (now: ${JSON.stringify(now)}) state: ${list}`);
  }
  return Date.now() - t0;
}

async function api(method, urlPath, token, body) {
  const res = await fetch(`${HTTP}${urlPath}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

const suffix = Math.random().toString(36).slice(2, 6);
const NAMES = { a: `alice${suffix}`, b: `bob${suffix}`, c: `carol${suffix}` };

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const probe = await fetch(`${HTTP}/pkg/index.js`).catch((e) => ({ ok: false, status: e.message }));
  check(probe.ok, `${HTTP}/pkg/index.js is not served (${probe.status}): run bash scripts/build_pkg.sh first`);
  browser = await launch();

  await step('setup: a fresh channel over REST', async () => {
    const login = await api('POST', '/api/dev/login', null, { username: `setup${suffix}` });
    channel = await api('POST', '/api/voice/channels', login.token, { name: `e2e ${suffix}` });
    return `channel ${channel.id} "${channel.name}"`;
  });

  await step('page loads and lists channels with mode and counts', async () => {
    const a = await openDemo('a', 440);
    await a.page.getByRole('list', { name: 'Voice channels' }).locator('li').first().waitFor({ timeout: TIMEOUT });
    const text = await a.page.getByRole('list', { name: 'Voice channels' }).innerText();
    check(/General/.test(text), `no General channel in the list: ${text}`);
    check(/p2p/i.test(text) && /in voice/.test(text), `mode/counts not shown: ${text}`);
    const joinButton = a.page.getByRole('button', { name: 'Join General' });
    check(await joinButton.isDisabled(), 'join is enabled before login');
  });

  await step('three users log in (dev login) and the socket opens', async () => {
    await openDemo('b', 0);
    await openDemo('c', 0, { socket: 'app' }); // carol's page hands its own socket over (configure)
    for (const key of ['a', 'b', 'c']) {
      const { page } = pages[key];
      await page.getByLabel('Name').fill(NAMES[key]);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByText(`Logged in as ${NAMES[key]}`).waitFor({ timeout: TIMEOUT });
      await page.getByText('Socket: open').waitFor({ timeout: TIMEOUT });
      await page.getByRole('button', { name: 'Refresh' }).click();
    }
  });

  const joinVia = async (key) => {
    const { page } = pages[key];
    const button = page.getByRole('button', { name: `Join ${channel.name}` });
    await button.waitFor({ timeout: TIMEOUT });
    await button.click();
    await page.getByRole('listitem', { name: `You: ${NAMES[key]}, unmuted` }).waitFor({ timeout: TIMEOUT });
  };

  await step('all three join the same channel (REST join, then joinChannel)', async () => {
    for (const key of ['a', 'b', 'c']) await joinVia(key);
    const status = await pages.a.page.locator('#call-status').innerText();
    check(/Connected/.test(status), `status is "${status}"`);
  });

  await step("each page's participant list shows the two others", async () => {
    const times = [];
    for (const key of ['a', 'b', 'c']) {
      for (const other of ['a', 'b', 'c'].filter((k) => k !== key)) {
        times.push(await waitLabel(pages[key], NAMES[other], /, (muted|unmuted), (speaking|not speaking)$/));
      }
      const count = await participants(pages[key]).locator('li').count();
      check(count === 3, `${key} lists ${count} entries (expected self + 2)`);
      const sliders = await pages[key].page.getByRole('slider', { name: /^Volume control for / }).count();
      check(sliders === 2, `${key} has ${sliders} volume sliders`);
    }
    return `all lists complete after ${Math.max(...times)} ms more`;
  });

  await step('one signalling socket per tab (package socket on a and b, the app\'s own on c)', async () => {
    const counts = ['a', 'b', 'c'].map((k) => pages[k].sockets.length);
    check(counts.every((n) => n === 1), `sockets opened per page: ${counts.join(', ')}`);
    const appHandlers = await pages.c.page.evaluate(() => window.sohbetDemo.socket.handlerCount());
    check(appHandlers > 2, `the voice engine registered no handlers on the app socket (${appHandlers})`);
    return `a/b/c: ${counts.join('/')} socket(s); ${appHandlers} handlers on c's app socket`;
  });

  await step('joins are announced in the role=status region', async () => {
    const text = await pages.a.page.getByRole('status').innerText();
    for (const k of ['b', 'c']) check(text.includes(`${NAMES[k]} joined the voice channel`), `a's announcer: "${text}"`);
  });

  await step('speaking turns on for the toned peer (and not for the silent ones)', async () => {
    const tb = await waitLabel(pages.b, NAMES.a, /, speaking$/);
    const tc = await waitLabel(pages.c, NAMES.a, /, speaking$/);
    for (const [viewer, other] of [['a', 'b'], ['a', 'c'], ['b', 'c']]) {
      const l = await label(pages[viewer], NAMES[other]);
      check(/not speaking$/.test(l), `${viewer} sees silent ${other} as "${l}"`);
    }
    const speakingClass = await peer(pages.b, NAMES.a).evaluate((li) => li.classList.contains('speaking'));
    check(speakingClass, 'no speaking indicator class on the toned peer');
    const meter = await peer(pages.b, NAMES.a).locator('.meter .fill').evaluate((e) => parseFloat(e.style.width) || 0);
    check(meter > 0, 'audio level meter is empty for the toned peer');
    return `b after ${tb} ms, c after ${tc} ms; meter ${meter}%`;
  });

  await step('connection quality and mode are shown', async () => {
    const { page } = pages.a;
    const q = await page.locator('#quality-text').innerText();
    check(['good', 'medium', 'poor'].includes(q), `quality text "${q}"`);
    const cls = await page.locator('#quality').getAttribute('class');
    check(cls.includes(`q-${q}`), `quality colour class "${cls}"`);
    const mode = await page.locator('#mode').textContent();
    check(mode === 'p2p', `mode "${mode}"`);
    return `quality ${q}, mode ${mode}`;
  });

  await step('screenshot of a page in the call', async () => {
    await pages.b.page.screenshot({ path: path.join(ARTIFACTS, 'demo.png'), fullPage: true });
    return '.artifacts/demo.png';
  });

  await step('mute shows up as muted on the other pages (and silences the speaker)', async () => {
    const { page } = pages.a;
    const mute = page.getByRole('button', { name: 'Mute' });
    await mute.click();
    check(await page.locator('#mute-button').getAttribute('aria-pressed') === 'true', 'mute button not aria-pressed');
    await page.getByRole('listitem', { name: `You: ${NAMES.a}, muted` }).waitFor({ timeout: TIMEOUT });
    const tb = await waitLabel(pages.b, NAMES.a, /^[^,]+, muted, /);
    const tc = await waitLabel(pages.c, NAMES.a, /^[^,]+, muted, /);
    const ts = await waitLabel(pages.b, NAMES.a, /, muted, not speaking$/);
    await page.locator('#mute-button').click();
    await waitLabel(pages.b, NAMES.a, /, unmuted, /);
    await waitLabel(pages.c, NAMES.a, /, unmuted, speaking$/);
    return `muted seen after ${tb}/${tc} ms, silent after ${ts} ms; unmute seen again`;
  });

  await step('deafen presses deafen and mute (khave semantics) and peers see the mute', async () => {
    const { page } = pages.b;
    await page.locator('#deafen-button').click();
    check(await page.locator('#deafen-button').getAttribute('aria-pressed') === 'true', 'deafen not pressed');
    check(await page.locator('#mute-button').getAttribute('aria-pressed') === 'true', 'mute not pressed by deafen');
    check(await page.locator('#mute-button').isDisabled(), 'mute should be disabled while deafened');
    await waitLabel(pages.a, NAMES.b, /, muted, /);
    const deaf = await page.evaluate(() => window.sohbetDemo.webrtcService.isDeafenedStatus());
    check(deaf === true, 'isDeafenedStatus() is false');
    await page.locator('#deafen-button').click(); // undeafen does not unmute
    check(await page.locator('#deafen-button').getAttribute('aria-pressed') === 'false', 'still deafened');
    check(await page.locator('#mute-button').getAttribute('aria-pressed') === 'true', 'undeafen unmuted');
    await page.locator('#mute-button').click();
    await waitLabel(pages.a, NAMES.b, /, unmuted, /);
  });

  await step('volume slider sets the participant volume', async () => {
    const { page } = pages.a;
    const slider = page.getByRole('slider', { name: `Volume control for ${NAMES.b}` });
    await slider.fill('25');
    const v = await page.evaluate((name) => {
      const p = window.sohbetDemo.webrtcService.getParticipants().find((x) => x.username === name);
      return window.sohbetDemo.webrtcService.getParticipantVolume(p.userId);
    }, NAMES.b);
    check(Math.abs(v - 0.25) < 1e-6, `getParticipantVolume = ${v}`);
    await slider.fill('0');
    const z = await page.evaluate((name) => {
      const p = window.sohbetDemo.webrtcService.getParticipants().find((x) => x.username === name);
      return window.sohbetDemo.webrtcService.getParticipantVolume(p.userId);
    }, NAMES.b);
    check(z === 0, `a stored 0 reads back as ${z} (P9)`);
    await slider.fill('100');
  });

  await step('channel list (REST) counts the three live members', async () => {
    const data = await api('GET', '/api/voice/channels');
    const ch = data.channels.find((c) => c.id === channel.id);
    check(ch && ch.participants === 3 && ch.active_users === 3, `channel ${JSON.stringify(ch)}`);
    return `participants ${ch.participants}, active_users ${ch.active_users}, mode ${ch.mode}`;
  });

  const dropAndRejoin = async (k) => {
    const userId = await pages[k].page.evaluate(() => window.sohbetDemo.state.user.id);
    const socketsBefore = pages[k].sockets.length;
    const t0 = Date.now();
    const r = await api('POST', '/api/dev/drop-connections', null, { user_id: userId });
    check(r.dropped >= 1, `nothing dropped for ${k}: ${JSON.stringify(r)}`);
    await pages[k].page.getByText('Socket: open').waitFor({ timeout: TIMEOUT });
    for (const o of ['a', 'b', 'c'].filter((x) => x !== k)) {
      await waitLabel(pages[o], NAMES[k], /, unmuted, /);
      await waitLabel(pages[k], NAMES[o], /, unmuted, /);
    }
    const count = await participants(pages[k]).locator('li').count();
    check(count === 3, `${k} lists ${count} entries after the re-join`);
    await waitLabel(pages[k], NAMES.a, /, unmuted, speaking$/); // audio flows again
    check(pages[k].sockets.length === socketsBefore + 1, `${k} opened ${pages[k].sockets.length - socketsBefore} sockets to reconnect`);
    return `${k} lists everyone and hears alice again ${Date.now() - t0} ms after the drop`;
  };

  await step("socket drop on the app's own socket (c): reconnect, re-join, audio again (P12)", () => dropAndRejoin('c'));

  await step("socket drop on the package's socket (b): reconnect, re-join, audio again (P12)", () => dropAndRejoin('b'));

  await step('leave removes the user from the other pages and ends the REST session', async () => {
    const { page } = pages.c;
    await page.locator('#leave-button').click();
    await page.locator('#call-panel').waitFor({ state: 'hidden', timeout: TIMEOUT });
    for (const k of ['a', 'b']) {
      await peer(pages[k], NAMES.c).waitFor({ state: 'detached', timeout: TIMEOUT });
      const count = await participants(pages[k]).locator('li').count();
      check(count === 2, `${k} lists ${count} entries after carol left`);
    }
    await pages.a.page.getByRole('status').getByText(`${NAMES.c} left the voice channel`).last().waitFor({ timeout: TIMEOUT });
    check(await page.evaluate(() => window.sohbetDemo.webrtcService.getParticipants().length) === 0, 'c still lists participants');
    const data = await api('GET', '/api/voice/channels');
    const ch = data.channels.find((x) => x.id === channel.id);
    check(ch.participants === 2 && ch.active_users === 2, `after leave: ${JSON.stringify(ch)}`);
  });

  await step('rejoin after leave starts unmuted and sees both others again (P10)', async () => {
    await joinVia('c');
    check(await pages.c.page.locator('#mute-button').getAttribute('aria-pressed') === 'false', 'rejoined muted');
    await waitLabel(pages.c, NAMES.a, /, unmuted, speaking$/);
    await waitLabel(pages.c, NAMES.b, /, unmuted, /);
    await waitLabel(pages.a, NAMES.c, /, unmuted, /);
    const muted = await pages.c.page.evaluate(() => window.sohbetDemo.webrtcService.toggleMute());
    check(muted === true, 'first toggleMute after rejoin did not mute');
    await waitLabel(pages.b, NAMES.c, /, muted, /);
  });

  await step('a double click on join: the repeated joinChannel resolves with the join in flight', async () => {
    const r = await pages.c.page.evaluate(async (channelId) => {
      const { webrtcService: w, state } = window.sohbetDemo;
      w.leaveChannel();
      const first = w.joinChannel(channelId, state.user.id, true);
      const second = w.joinChannel(channelId, state.user.id, true);
      const settled = await Promise.allSettled([first, second]);
      return { same: first === second, settled: settled.map((x) => x.status + (x.reason ? ` ${x.reason.code}` : '')) };
    }, channel.id);
    check(r.same, 'a second promise');
    check(r.settled.every((x) => x === 'fulfilled'), `settled: ${r.settled.join(', ')}`);
    await waitLabel(pages.c, NAMES.a, /, (muted|unmuted), /);
    await waitLabel(pages.a, NAMES.c, /, (muted|unmuted), /);
    return `both ${r.settled.join(', ')}`;
  });

  await step('a fresh page: joinChannel cancelled by leaveChannel before wasm init rejects (P11)', async () => {
    const d = await openDemo('d', 0);
    const r = await d.page.evaluate(async () => {
      const w = window.sohbetDemo.webrtcService;
      const pending = w.joinChannel(1, 99999, true);
      w.leaveChannel();
      let code = 'resolved';
      try { await pending; } catch (e) { code = e.code; }
      return { code, participants: w.getParticipants().length, stream: w.getLocalStream() };
    });
    check(r.code === 'service/join-aborted', `join ended with ${r.code}`);
    check(r.participants === 0 && r.stream === null, `state after abort: ${JSON.stringify(r)}`);
    await d.context.close();
    delete pages.d;
    return `rejected with ${r.code}`;
  });

  await step('everyone leaves; lists empty, no page errors', async () => {
    for (const k of ['a', 'b', 'c']) {
      await pages[k].page.locator('#leave-button').click();
      await pages[k].page.locator('#call-panel').waitFor({ state: 'hidden', timeout: TIMEOUT });
    }
    const data = await api('GET', '/api/voice/channels');
    const ch = data.channels.find((x) => x.id === channel.id);
    check(ch.participants === 0 && ch.active_users === 0, `after all left: ${JSON.stringify(ch)}`);
    const errs = Object.values(pages).flatMap((p) => p.errors.map((e) => `${p.name}: ${e}`));
    check(errs.length === 0, `page errors: ${errs.join(' | ')}`);
    const shown = [];
    for (const p of Object.values(pages)) {
      const t = await p.page.locator('#error').innerText();
      if (t) shown.push(`${p.name}: ${t}`);
    }
    check(shown.length === 0, `errors shown: ${shown.join(' | ')}`);
  });
}

try {
  await main();
} catch (e) {
  results.push(['demo e2e harness', false]);
  log(`FAIL demo e2e harness: ${e?.stack ?? e}`);
} finally {
  await browser?.close().catch(() => {});
}
const passed = results.filter(([, ok]) => ok).length;
const failed = results.length - passed;
log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
