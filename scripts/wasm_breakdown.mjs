// Reads a wasm file's code and name sections and prints code bytes per crate and the largest
// functions (see scripts/wasm_breakdown.sh). Args: <named wasm> <shipped wasm> <js glue> [regex].
import fs from 'node:fs';
import zlib from 'node:zlib';
import { imports, reader, sections } from './wasm_binary.mjs';

const [wasmPath, shippedPath, gluePath, pattern] = process.argv.slice(2);
const shipped = fs.readFileSync(shippedPath);
const buf = fs.readFileSync(wasmPath);
const glue = fs.readFileSync(gluePath);
const gz = (b) => zlib.gzipSync(b, { level: 9 }).length;
let imported = 0; let data = 0; const sizes = []; const names = new Map();
for (const sec of sections(buf)) {
  const r = reader(buf, sec.start);
  if (sec.id === 0 && r.str() === 'name') {
    while (r.p < sec.end) {
      const sid = r.byte(); const len = r.leb(); const send = r.p + len;
      if (sid === 1) { for (let n = r.leb(); n > 0; n--) { const idx = r.leb(); names.set(idx, r.str()); } }
      r.p = send;
    }
  } else if (sec.id === 2) imported = imports(buf, sec).filter((i) => i.kind === 0).length;
  else if (sec.id === 10) { for (let n = r.leb(); n > 0; n--) { const size = r.leb(); sizes.push(size); r.p += size; } }
  else if (sec.id === 11) data = sec.end - sec.start;
}
const fns = sizes.map((s, i) => [names.get(i + imported) ?? `f${i + imported}`, s]);
const total = sizes.reduce((a, b) => a + b, 0);
console.log(`shipped: wasm ${shipped.length} B (gzip ${gz(shipped)}), glue ${glue.length} B (gzip ${gz(glue)}); total gzip ${gz(shipped) + gz(glue)} B`);
console.log(`named build before wasm-opt: code ${total} B in ${fns.length} functions, data ${data} B`);
const crate = (n) => {
  const m = /^(?:<)?([A-Za-z0-9_]+)(?:\[[0-9a-f]+\])?(?:::|$)/.exec(n.replace(/^core::ptr::drop_in_place<|^<|^_</, ''));
  if (!m) return n.slice(0, 24);
  if (m[1] === 'sohbet_rtc') { const sub = /sohbet_rtc(?:\[[0-9a-f]+\])?::([a-z0-9_]+)/.exec(n); return `sohbet_rtc::${sub ? sub[1] : '?'}`; }
  return m[1];
};
const byCrate = new Map();
for (const [n, s] of fns) byCrate.set(crate(n), (byCrate.get(crate(n)) ?? 0) + s);
console.log('--- code bytes per crate (module for sohbet_rtc)');
console.log([...byCrate].sort((a, b) => b[1] - a[1]).slice(0, 30)
  .map(([c, s]) => `${String(s).padStart(8)} ${(100 * s / total).toFixed(1).padStart(5)}% ${c}`).join('\n'));
// Per sohbet_rtc module (two levels): a generic instantiation counts for the first sohbet_rtc
// path in its name (e.g. Vec<sfu::roster::Peer>::retain counts for sfu::roster).
const byModule = new Map();
for (const [n, s] of fns) {
  const m = /sohbet_rtc(?:\[[0-9a-f]+\])?::([a-z0-9_]+(?:::[a-z0-9_]+)?)/.exec(n);
  if (m) byModule.set(m[1], (byModule.get(m[1]) ?? 0) + s);
}
console.log('--- code bytes per sohbet_rtc module (with the generic code instantiated for it)');
console.log([...byModule].sort((a, b) => b[1] - a[1]).slice(0, 40)
  .map(([c, s]) => `${String(s).padStart(8)} ${c}`).join('\n'));
const re = pattern ? new RegExp(pattern) : null;
const shown = fns.filter(([n]) => !re || re.test(n)).sort((a, b) => b[1] - a[1]);
console.log(`--- largest functions${re ? ` matching /${pattern}/ (${shown.length}, ${shown.reduce((a, [, s]) => a + s, 0)} B)` : ''}`);
console.log(shown.slice(0, 40).map(([n, s]) => `${String(s).padStart(8)} ${n.slice(0, 160)}`).join('\n'));
