// Minifies the names the wasm and its wasm-bindgen glue use for each other (a build step of
// scripts/build_pkg.sh, like a JS minifier's renaming): every import `__wbg_<name>_<16 hex digits>`
// and the import module `./<crate>_bg.js` become short identifiers, and so does every export the
// glue reads as `wasm.<name>`. The hashes are pure entropy that gzip cannot shrink (about 5 KB of
// the shipped package). The wasm's import and export sections are rewritten in place; the glue
// and its .d.ts are rewritten with the same mapping, and every name must be found exactly where
// expected or the build fails (nothing is renamed on one side only).
// Usage: node scripts/minify_names.mjs <wasm> <glue.js> [glue.d.ts]
import fs from 'node:fs';
import { imports as readImports, name, reader, section as encodeSection, sections as readSections, uleb } from './wasm_binary.mjs';

const [wasmPath, gluePath, dtsPath] = process.argv.slice(2);
const die = (msg) => { console.error(`[minify_names] ${msg}`); process.exit(1); };
if (!wasmPath || !gluePath) die('usage: minify_names.mjs <wasm> <glue.js> [glue.d.ts]');

const buf = fs.readFileSync(wasmPath);
let glue = fs.readFileSync(gluePath, 'utf8');
let dts = dtsPath && fs.existsSync(dtsPath) ? fs.readFileSync(dtsPath, 'utf8') : null;

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
let sections;
try { sections = readSections(buf); } catch (e) { die(`${wasmPath}: ${e.message}`); }
const section = (id) => sections.find((s) => s.id === id);

// Imports: module, field, and the kind-specific rest, kept as raw bytes.
const importSec = section(2);
let imports = [];
try { imports = importSec ? readImports(buf, importSec) : []; } catch (e) { die(e.message); }
const exportsList = [];
const exportSec = section(7);
if (exportSec) {
  const r = reader(buf, exportSec.start);
  for (let n = r.leb(); n > 0; n--) {
    const field = r.str(); const descStart = r.p; r.byte(); r.leb();
    exportsList.push({ field, desc: buf.subarray(descStart, r.p) });
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
for (const s of sections) parts.push(encodeSection(s.id, rebuilt.get(s) ?? buf.subarray(s.start, s.end)));
const out = Buffer.concat(parts);
fs.writeFileSync(wasmPath, out);
fs.writeFileSync(gluePath, glue);
if (dts) fs.writeFileSync(dtsPath, dts);
console.log(`[minify_names] ${imports.length} imports, ${exportsList.length - kept} exports renamed` +
  `${kept ? ` (${kept} not read by the glue kept)` : ''}; wasm ${buf.length} -> ${out.length} bytes`);
