// Unhooks the function-table entries that nothing can ever call (a build step of
// scripts/build_pkg.sh, between wasm-bindgen and wasm-opt -Oz).
//
// Why: wasm-bindgen's closure descriptors take the address of an `invoke` shim for every closure
// type in the signature of every imported JS function that survives linking, so those shims land
// in the function table. Most are never used (js-sys's typed-array `forEach`/`findLast` callbacks,
// say), yet a table entry keeps its function, and everything it calls, alive through wasm-opt.
//
// Which entries: a function pointer in Rust's wasm is a table index that the linker wrote either as
// an `i32.const` in code or as four bytes in a data segment (vtables, statics); nothing computes
// one. So an index that appears nowhere in the module, read very conservatively (after every 0x41
// byte as a signed LEB128, and as every 4-byte little-endian window of every byte), outside the
// element section itself, can never reach `call_indirect`. Such entries are pointed at a function
// the table keeps anyway; the indices of all other entries stay as they are, and wasm-opt then drops
// the functions no longer referenced. The JS glue never reads this table (it calls exports).
//
// Usage: node scripts/prune_table.mjs <file.wasm>   (rewritten in place; unchanged when the
// module has no single plain active element segment)
import fs from 'node:fs';
import { reader, section, sections, uleb } from './wasm_binary.mjs';

const file = process.argv[2];
const buf = fs.readFileSync(file);
const list = sections(buf);
const elems = list.filter((s) => s.id === 9);

/** The single active funcref segment at an `i32.const` offset: `{ base, offsetExpr, funcs }`. */
function readSegment(sec) {
  const r = reader(buf, sec.start);
  if (r.leb() !== 1 || r.leb() !== 0) return null; // one segment, flags 0 (active, table 0)
  const exprStart = r.p;
  if (r.byte() !== 0x41) return null; // i32.const
  const base = r.sleb();
  if (r.byte() !== 0x0b) return null; // end
  const offsetExpr = buf.subarray(exprStart, r.p);
  const funcs = [];
  for (let n = r.leb(); n > 0; n--) funcs.push(r.leb());
  return r.p === sec.end ? { base, offsetExpr, funcs } : null;
}

const segment = elems.length === 1 ? readSegment(elems[0]) : null;
if (!segment) {
  console.log('[prune_table] no single plain element segment; unchanged');
  process.exit(0);
}
const { base, offsetExpr, funcs } = segment;
const seen = new Uint8Array(funcs.length);
const mark = (v) => { const i = v - base; if (i >= 0 && i < funcs.length) seen[i] = 1; };
const [skipFrom, skipTo] = [elems[0].start, elems[0].end];
for (let p = 8; p < buf.length; p++) {
  if (p >= skipFrom && p < skipTo) continue;
  if (p + 4 <= buf.length) mark(buf.readUInt32LE(p));
  if (buf[p] === 0x41) mark(reader(buf, p + 1).sleb());
}
const keep = seen.indexOf(1);
const dead = seen.reduce((n, s) => n + (s ? 0 : 1), 0);
if (keep < 0 || dead === 0) {
  console.log(`[prune_table] all ${funcs.length} table entries may be called; unchanged`);
  process.exit(0);
}
const pruned = funcs.map((f, i) => (seen[i] ? f : funcs[keep]));
const content = Buffer.concat([uleb(1), uleb(0), offsetExpr, uleb(pruned.length), ...pruned.map(uleb)]);
fs.writeFileSync(file, Buffer.concat([
  buf.subarray(0, elems[0].at),
  section(9, content),
  buf.subarray(skipTo),
]));
console.log(`[prune_table] ${dead} of ${funcs.length} table entries are referenced nowhere; unhooked`);
