// Minifies the names the wasm and its wasm-bindgen glue use for each other (a build step of
// scripts/build_pkg.sh, like a JS minifier's renaming): every import `__wbg_<name>_<16 hex digits>`
// and the import module `./<crate>_bg.js` become short identifiers, and so does every export the
// glue reads as `wasm.<name>`. The hashes are pure entropy that gzip cannot shrink (about 5 KB of
// the shipped package). The wasm's import and export sections are rewritten in place; the glue
// and its .d.ts are rewritten with the same mapping, and every name must be found exactly where
// expected or the build fails (nothing is renamed on one side only).
// Usage: node scripts/minify_names.mjs <wasm> <glue.js> [glue.d.ts]
import fs from 'node:fs';

const [wasmPath, gluePath, dtsPath] = process.argv.slice(2);
const die = (msg) => { console.error(`[minify_names] ${msg}`); process.exit(1); };
if (!wasmPath || !gluePath) die('usage: minify_names.mjs <wasm> <glue.js> [glue.d.ts]');

const buf = fs.readFileSync(wasmPath);
let glue = fs.readFileSync(gluePath, 'utf8');
let dts = dtsPath && fs.existsSync(dtsPath) ? fs.readFileSync(dtsPath, 'utf8') : null;

// --- LEB128 and byte helpers ------------------------------------------------------------------
let p = 0;
const leb = () => { let r = 0, s = 0, b; do { b = buf[p++]; r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return r; };
const str = () => { const n = leb(); const s = buf.toString('utf8', p, p + n); p += n; return s; };
const uleb = (n) => { const out = []; do { let b = n % 128; n = Math.floor(n / 128); if (n) b |= 0x80; out.push(b); } while (n); return Buffer.from(out); };
const name = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([uleb(b.length), b]); };

// Short identifiers a, b, …, Z, aa, ab, … (never a JS keyword, never one of `keep`).
const RESERVED = new Set(['do', 'if', 'in', 'for', 'let', 'new', 'try', 'var', 'int', 'NaN']);
function* shortNames(keep) {
  const alpha = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  for (let len = 1; ; len++) {
    const idx = new Array(len).fill(0);
    for (;;) {
      const s = idx.map((i) => alpha[i]).join('');
      if (!RESERVED.has(s) && !keep.has(s)) yield s;
      let k = len - 1;
      while (k >= 0 && ++idx[k] === alpha.length) idx[k--] = 0;
      if (k < 0) break;
    }
  }
}
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// --- read the sections ------------------------------------------------------------------------
if (buf.readUInt32LE(0) !== 0x6d736100) die(`${wasmPath} is not a wasm module`);
p = 8;
const sections = [];
while (p < buf.length) {
  const id = buf[p++]; const size = leb(); sections.push({ id, start: p, end: p + size }); p += size;
}
const section = (id) => sections.find((s) => s.id === id);

// Imports: module, field, and the kind-specific rest, kept as raw bytes.
const imports = [];
const importSec = section(2);
if (importSec) {
  p = importSec.start; const n = leb();
  for (let i = 0; i < n; i++) {
    const module = str(); const field = str(); const descStart = p; const kind = buf[p++];
    if (kind === 0) leb();
    else if (kind === 1) { p++; const f = buf[p++]; leb(); if (f & 1) leb(); }
    else if (kind === 2) { const f = buf[p++]; leb(); if (f & 1) leb(); }
    else if (kind === 3) p += 2;
    else if (kind === 4) { p++; leb(); }
    else die(`unknown import kind ${kind}`);
    imports.push({ module, field, desc: buf.subarray(descStart, p) });
  }
}
const exportsList = [];
const exportSec = section(7);
if (exportSec) {
  p = exportSec.start; const n = leb();
  for (let i = 0; i < n; i++) {
    const field = str(); const descStart = p; p++; leb();
    exportsList.push({ field, desc: buf.subarray(descStart, p) });
  }
}

// --- the mapping ----------------------------------------------------------------------------
const moduleNames = [...new Set(imports.map((i) => i.module))];
const gen = shortNames(new Set());
const moduleMap = new Map();
for (const m of moduleNames) {
  const quoted = new RegExp(`(["'])${escapeRe(m)}\\1(?=\\s*:)`, 'g');
  const hits = glue.match(quoted)?.length ?? 0;
  if (hits !== 1) die(`import module ${m}: expected 1 key in the glue, found ${hits}`);
  const short = gen.next().value; moduleMap.set(m, short);
  glue = glue.replace(quoted, short);
}
const importGen = shortNames(new Set());
for (const imp of imports) {
  const key = new RegExp(`(?<![\\w$])${escapeRe(imp.field)}(?=\\s*:\\s*function\\b)`, 'g');
  const hits = glue.match(key)?.length ?? 0;
  if (hits !== 1) die(`import ${imp.field}: expected 1 definition in the glue, found ${hits}`);
  imp.newField = importGen.next().value;
  glue = glue.replace(key, imp.newField);
}
const exportGen = shortNames(new Set());
let kept = 0;
for (const exp of exportsList) {
  const use = new RegExp(`\\bwasm\\.${escapeRe(exp.field)}(?![\\w$])`, 'g');
  const hits = glue.match(use)?.length ?? 0;
  if (hits === 0) { exp.newField = exp.field; kept++; continue; } // not read by the glue: left alone
  exp.newField = exportGen.next().value;
  glue = glue.replace(use, `wasm.${exp.newField}`);
  if (dts) dts = dts.replace(new RegExp(`(readonly\\s+)${escapeRe(exp.field)}(?=\\s*:)`, 'g'), `$1${exp.newField}`);
}
if (exportsList.some((e, i) => exportsList.findIndex((f) => f.newField === e.newField) !== i)) die('export name collision');

// --- write the wasm -------------------------------------------------------------------------
const vec = (items) => Buffer.concat([uleb(items.length), ...items]);
const rebuilt = new Map();
if (importSec) rebuilt.set(importSec, vec(imports.map((i) => Buffer.concat([name(moduleMap.get(i.module)), name(i.newField), i.desc]))));
if (exportSec) rebuilt.set(exportSec, vec(exportsList.map((e) => Buffer.concat([name(e.newField), e.desc]))));
const parts = [buf.subarray(0, 8)];
for (const s of sections) {
  const body = rebuilt.get(s) ?? buf.subarray(s.start, s.end);
  parts.push(Buffer.from([s.id]), uleb(body.length), body);
}
const out = Buffer.concat(parts);
fs.writeFileSync(wasmPath, out);
fs.writeFileSync(gluePath, glue);
if (dts) fs.writeFileSync(dtsPath, dts);
console.log(`[minify_names] ${imports.length} imports, ${exportsList.length - kept} exports renamed` +
  `${kept ? ` (${kept} not read by the glue kept)` : ''}; wasm ${buf.length} -> ${out.length} bytes`);
