// SFU end-to-end suite (run by scripts/test.sh): our Rust/wasm LiveKit client in real headless
// Chromium against a real livekit-server, with tokens from the reference back end; interop with
// LiveKit's own livekit-client; fault injection. Prints `e2e: N passed, M failed`.
import { runAll, PrivateLivekit } from './harness.mjs';

const base = 100 + Math.floor(Math.random() * 800); // fresh rooms on every run
let next = 0;
const channel = () => base + next++;

function fail(msg) { throw new Error(msg); }

const tests = [
  ['two clients join via back-end tokens and hear each other', async (page) => page.evaluate(async (ch) => {
    const E = window.E2E;
    const a = await E.ourClient('alice', ch, E.VOICES[0]);
    const b = await E.ourClient('bob', ch, E.VOICES[1]);
    const ta = await E.waitFor('alice hears bob', () => a.out.hears(b.freq), 20000);
    const tb = await E.waitFor('bob hears alice', () => b.out.hears(a.freq), 20000);
    await E.waitFor('participant lists', () => a.client.participants().some((p) => p.userId === b.user.id)
      && b.client.participants().some((p) => p.userId === a.user.id));
    const seen = a.client.participants().find((p) => p.userId === b.user.id);
    if (seen.username !== 'bob' || seen.university !== '' || seen.isMuted) fail(`bad participant ${JSON.stringify(seen)}`);
    if (!(seen.stream instanceof MediaStream)) fail('participant has no stream');
    if (a.out.hears(a.freq) || b.out.hears(b.freq)) fail(`a client hears its own voice: ${[a.freq, b.freq, 300, 1000].map((f) => `${f}: ${a.out.level(f).toFixed(0)}/${b.out.level(f).toFixed(0)}`).join(' ')}`);
    await a.client.leave(); await b.client.leave();
    function fail(m) { throw new Error(m); }
    return `alice heard bob after ${ta.toFixed(0)} ms, bob heard alice after ${tb.toFixed(0)} ms`;
  }, channel())],
];

const failed = await runAll(tests, process.argv[2]);
process.exit(failed ? 1 : 0);
