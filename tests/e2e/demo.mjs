// End-to-end test of the demo page (www/index.html over the packed entry /pkg/index.js): three
// Chromium pages log in, join one channel through the UI exactly like khave does, and check each
// other through the page's accessibility hooks (participant aria-labels, aria-pressed, the
// role=status announcer); one REST session per user (also across a reload); then a channel that
// moves to the SFU at 3 and back at 2, with the mode and each migration's duration on the page.
// Needs pkg/ built (bash scripts/build_pkg.sh), the reference server serving the repo root
// (SOHBET_STATIC_DIR) at SOHBET_HTTP_URL with its voice port at SOHBET_WS_URL, and a
// livekit-server it reaches (scripts/test.sh starts both). Pages a and b find the socket on their
// own origin (/ws on the HTTP port, the page's default); page c is given the voice port with
// ?ws=, as scripts/demo.sh prints it. Writes .artifacts/demo.png and .artifacts/demo-sfu.png.
// Prints `e2e: N passed, M failed`; exits non-zero on failure.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HTTP = (process.env.SOHBET_HTTP_URL ?? 'http://127.0.0.1:18080').replace(/\/+$/, '');
const WS = process.env.SOHBET_WS_URL ?? HTTP.replace(/^http/, 'ws').replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`);
// The page's default: the voice socket on its own origin.
const SAME_ORIGIN_WS = `${HTTP.replace(/^http/, 'ws')}/ws`;
const ARTIFACTS = path.join(ROOT, '.artifacts');
const TIMEOUT = Number(process.env.DEMO_E2E_TIMEOUT_MS ?? 20000);
const ONLY = process.argv[2];

const results = [];
const pages = {};
let browser;
let channel;
let setupToken;

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
  page.on('websocket', (w) => sockets.push(w.url()));
  page.on('console', (m) => { if (m.type() !== 'debug') logs.push(`[${m.type()}] ${m.text()}`); });
  page.on('pageerror', (e) => { logs.push(`[pageerror] ${e.message}`); errors.push(e.message); });
  const q = new URLSearchParams({ tone: String(tone), ...extra });
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
    setupToken = login.token;
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

  const logIn = async (key) => {
    const { page } = pages[key];
    await page.getByLabel('Name').fill(NAMES[key]);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText(`Logged in as ${NAMES[key]}`).waitFor({ timeout: TIMEOUT });
    await page.getByText('Socket: open').waitFor({ timeout: TIMEOUT });
    await page.getByRole('button', { name: 'Refresh' }).click();
  };

  await step('three users log in (dev login) and the socket opens', async () => {
    await openDemo('b', 0);
    // carol's page hands its own socket over (configure), on the voice port given with ?ws=
    await openDemo('c', 0, { socket: 'app', ws: WS });
    for (const key of ['a', 'b', 'c']) await logIn(key);
  });

  const joinVia = async (key, ch = channel) => {
    const { page } = pages[key];
    const button = page.getByRole('button', { name: `Join ${ch.name}` });
    if (!await button.count()) await page.getByRole('button', { name: 'Refresh' }).click(); // a channel made since
    await button.waitFor({ timeout: TIMEOUT });
    await button.click();
    await page.getByRole('listitem', { name: `You: ${NAMES[key]}, unmuted` }).waitFor({ timeout: TIMEOUT });
  };

  const leaveVia = async (key) => {
    const { page } = pages[key];
    await page.locator('#leave-button').click();
    await page.locator('#call-panel').waitFor({ state: 'hidden', timeout: TIMEOUT });
  };

  const channelJson = async (ch) => (await api('GET', '/api/voice/channels')).channels.find((x) => x.id === ch.id);

  // The count line of a channel on a page ("3 in voice · 3 sessions"), once it reads `want`.
  const waitCount = async (key, ch, want) => {
    try {
      await pages[key].page.waitForFunction(([id, text]) =>
        document.querySelector(`#channel-list li[data-channel-id="${id}"] .count`)?.textContent === text,
      [String(ch.id), want], { timeout: TIMEOUT });
    } catch {
      const now = await pages[key].page.locator(`#channel-list li[data-channel-id="${ch.id}"] .count`).textContent().catch(() => null);
      throw new Error(`page ${key} shows "${now}" for ${ch.name}, not "${want}"`);
    }
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

  await step('the socket is found on the ports the server runs on: same-origin /ws by default, ?ws= when given', async () => {
    for (const [k, base] of [['a', SAME_ORIGIN_WS], ['b', SAME_ORIGIN_WS], ['c', WS]]) {
      const url = pages[k].sockets[0] ?? '';
      check(url.startsWith(`${base}/?token=`), `page ${k} opened "${url.slice(0, 60)}", expected ${base}/?token=…`);
    }
    check(!/:8080$/.test(HTTP), `run this on ports other than the defaults to test the page's socket URL (${HTTP})`);
    return `a/b: ${SAME_ORIGIN_WS}, c: ${WS} (HTTP ${HTTP})`;
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

  await step('each page lists the channel with 3 in voice and 3 sessions (one REST session per user)', async () => {
    for (const k of ['a', 'b', 'c']) await waitCount(k, channel, '3 in voice · 3 sessions');
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

  await step('a reload ends the page\'s REST session with it: after the re-login and re-join still 3 sessions for 3 users', async () => {
    const { page } = pages.c;
    const oldId = await page.evaluate(() => window.sohbetDemo.state.user.id);
    await page.reload();
    const t0 = Date.now();
    let ch = await channelJson(channel);
    while (ch.active_users !== 2 && Date.now() - t0 < TIMEOUT) {
      await new Promise((r) => setTimeout(r, 100));
      ch = await channelJson(channel);
    }
    check(ch.active_users === 2, `the reloaded page's session is still open: ${JSON.stringify(ch)}`);
    const ended = Date.now() - t0;
    for (const k of ['a', 'b']) await peer(pages[k], NAMES.c).waitFor({ state: 'detached', timeout: TIMEOUT });
    await logIn('c');
    await joinVia('c');
    const newId = await page.evaluate(() => window.sohbetDemo.state.user.id);
    check(newId !== oldId, 'the dev login gave the same id');
    for (const k of ['a', 'b']) {
      await waitLabel(pages[k], NAMES.c, /, unmuted, /);
      await waitLabel(pages.c, NAMES[k], /, unmuted, /);
    }
    ch = await channelJson(channel);
    check(ch.participants === 3 && ch.active_users === 3, `after the reload: ${JSON.stringify(ch)}`);
    for (const k of ['a', 'b', 'c']) await waitCount(k, channel, '3 in voice · 3 sessions');
    return `session ended ${ended} ms after the reload; user ${oldId} → ${newId}; 3 in voice · 3 sessions`;
  });

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

  await step('everyone leaves the channel; 0 in voice, 0 sessions', async () => {
    for (const k of ['a', 'b', 'c']) await leaveVia(k);
    const ch = await channelJson(channel);
    check(ch.participants === 0 && ch.active_users === 0, `after all left: ${JSON.stringify(ch)}`);
    for (const k of ['a', 'b', 'c']) await waitCount(k, channel, '0 in voice · 0 sessions');
  });

  // A channel that moves to the SFU at 3 members and back to the mesh at 2 (no cool-down).
  let hall;
  const waitMode = async (key, mode, timeout = 40000) => {
    try {
      await pages[key].page.waitForFunction((m) => document.getElementById('mode').textContent === m, mode, { timeout });
    } catch {
      const s = await pages[key].page.evaluate(() => ({ shown: document.getElementById('mode').textContent,
        modes: window.sohbetDemo.state.modes, status: document.getElementById('call-status').textContent }));
      throw new Error(`page ${key} never showed mode ${mode}: ${JSON.stringify(s)}`);
    }
  };
  // The finished migrations the page lists: [{direction, outcome, ms, text}].
  const listedMigrations = (key) => pages[key].page.locator('#migrations li[data-direction]').evaluateAll((lis) => lis.map((li) => ({
    direction: li.dataset.direction, outcome: li.dataset.outcome, ms: Number(li.dataset.durationMs), text: li.textContent })));
  const waitMigration = async (key, direction) => {
    const t0 = Date.now();
    for (;;) {
      const m = (await listedMigrations(key)).find((x) => x.direction === direction);
      if (m) return m;
      if (Date.now() - t0 > 40000) {
        const all = await pages[key].page.locator('#migrations').innerText();
        throw new Error(`page ${key} lists no ${direction} migration: "${all}"`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await step('the third joiner moves the call to the SFU: every page shows mode sfu, the callers list the migration with its duration', async () => {
    const health = await api('GET', '/api/voice/sfu-health');
    check(health.reachable, `the reference server cannot reach livekit-server (${health.probe_url}): start it first (scripts/test.sh does)`);
    hall = await api('POST', '/api/voice/channels', setupToken, { name: `hall ${suffix}` });
    await api('PUT', `/api/voice/channels/${hall.id}/strategy`, setupToken,
      { strategy: 'hard', sfu_up_at: 3, p2p_down_at: 2, prewarm_at: 3, cooldown_ms: 0 });
    for (const k of ['a', 'b']) await joinVia(k, hall);
    await waitLabel(pages.b, NAMES.a, /, unmuted, speaking$/);
    for (const k of ['a', 'b']) {
      check(await pages[k].page.locator('#mode').textContent() === 'p2p', `${k}: mode before the third joiner`);
      check(await pages[k].page.locator('#migrations li[data-direction]').count() === 0, `${k}: a migration listed before any`);
    }
    await joinVia('c', hall);
    for (const k of ['a', 'b', 'c']) await waitMode(k, 'sfu');
    const ups = [];
    for (const k of ['a', 'b']) {
      const m = await waitMigration(k, 'p2p-to-sfu');
      check(m.outcome === 'completed' && m.ms > 0, `${k}: ${JSON.stringify(m)}`);
      check(/^p2p → sfu · hard · completed in \d+ ms/.test(m.text), `${k} shows "${m.text}"`);
      const modes = await pages[k].page.evaluate(() => window.sohbetDemo.state.modes);
      check(modes.at(-1) === 'sfu' && modes.includes('migrating'), `${k}: onModeChange gave ${JSON.stringify(modes)}`);
      ups.push(`${k} ${m.ms} ms`);
    }
    const ch = await channelJson(hall);
    check(ch.mode === 'sfu' && ch.participants === 3 && ch.active_users === 3, `channel ${JSON.stringify(ch)}`);
    for (const k of ['a', 'b', 'c']) await waitCount(k, hall, '3 in voice · 3 sessions');
    await waitLabel(pages.b, NAMES.a, /, unmuted, speaking$/);
    await waitLabel(pages.c, NAMES.a, /, unmuted, speaking$/);
    await pages.a.page.screenshot({ path: path.join(ARTIFACTS, 'demo-sfu.png'), fullPage: true });
    return `p2p → sfu: ${ups.join(', ')}; alice heard on the SFU; .artifacts/demo-sfu.png`;
  });

  await step('one leaves: the two go back to the mesh, show mode p2p and list the sfu → p2p migration', async () => {
    await leaveVia('c');
    const downs = [];
    for (const k of ['a', 'b']) {
      await waitMode(k, 'p2p');
      const m = await waitMigration(k, 'sfu-to-p2p');
      // (a hard switch to the mesh is complete once the mesh build is ordered: the service
      // reports it with 0 ms; the audio coming back is checked below)
      check(m.outcome === 'completed' && m.ms >= 0, `${k}: ${JSON.stringify(m)}`);
      check(/^sfu → p2p · hard · completed in \d+ ms/.test(m.text), `${k} shows "${m.text}"`);
      check((await listedMigrations(k)).length === 2, `${k} lists ${JSON.stringify(await listedMigrations(k))}`);
      downs.push(`${k} ${m.ms} ms`);
    }
    await waitLabel(pages.b, NAMES.a, /, unmuted, speaking$/);
    const ch = await channelJson(hall);
    check(ch.mode === 'p2p' && ch.participants === 2 && ch.active_users === 2, `channel ${JSON.stringify(ch)}`);
    const history = await api('GET', `/api/voice/channels/${hall.id}/migrations`);
    const done = history.migrations.filter((m) => m.outcome === 'completed').map((m) => m.target_mode);
    check(JSON.stringify(done) === '["sfu","p2p"]', `server history ${JSON.stringify(history.migrations)}`);
    return `sfu → p2p: ${downs.join(', ')}; alice heard on the mesh again`;
  });

  await step('everyone leaves; lists empty, no page errors', async () => {
    for (const k of ['a', 'b', 'c']) {
      if (await pages[k].page.locator('#call-panel').isVisible()) await leaveVia(k);
    }
    for (const c of [channel, hall].filter(Boolean)) {
      const ch = await channelJson(c);
      check(ch.participants === 0 && ch.active_users === 0, `after all left: ${JSON.stringify(ch)}`);
    }
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
