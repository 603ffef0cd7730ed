// The bits of the wasm binary format the build scripts read and write (minify_names.mjs,
// order_functions.mjs, wasm_breakdown.mjs): LEB128 numbers, names, the section list and the import descriptors.

/** A read cursor over `buf` from byte `p` (8: just after the magic and version). */
export function reader(buf, p = 8) {
  const r = {
    p,
    byte: () => buf[r.p++],
    leb: () => {
      let v = 0, shift = 0, b;
      do { b = buf[r.p++]; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
      return v;
    },
    /** A signed LEB128 of at most 5 bytes (an i32, as in `i32.const`). */
    sleb: () => {
      let v = 0, shift = 0, b;
      do { b = buf[r.p++]; v |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80 && shift < 35);
      if (shift < 32 && (b & 0x40)) v |= -1 << shift;
      return v;
    },
    str: () => { const n = r.leb(); const s = buf.toString('utf8', r.p, r.p + n); r.p += n; return s; },
  };
  return r;
}

/** Every section as `{ id, at, start, end }`: `at` is its id byte, start..end its content. */
export function sections(buf) {
  if (buf.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm module');
  const r = reader(buf);
  const out = [];
  while (r.p < buf.length) {
    const at = r.p; const id = r.byte(); const size = r.leb();
    out.push({ id, at, start: r.p, end: r.p + size });
    r.p += size;
  }
  return out;
}

/** The entries of an import section: `{ module, field, kind, desc }` (desc: the raw descriptor). */
export function imports(buf, section) {
  const r = reader(buf, section.start);
  const out = [];
  for (let n = r.leb(); n > 0; n--) {
    const module = r.str(); const field = r.str(); const descStart = r.p; const kind = r.byte();
    if (kind === 0) r.leb(); // function: type index
    else if (kind === 1) { r.byte(); const flags = r.byte(); r.leb(); if (flags & 1) r.leb(); } // table
    else if (kind === 2) { const flags = r.byte(); r.leb(); if (flags & 1) r.leb(); } // memory
    else if (kind === 3) r.p += 2; // global: value type, mutability
    else if (kind === 4) { r.byte(); r.leb(); } // tag
    else throw new Error(`unknown import kind ${kind}`);
    out.push({ module, field, kind, desc: buf.subarray(descStart, r.p) });
  }
  return out;
}

/** `n` as unsigned LEB128. */
export const uleb = (n) => {
  const out = [];
  do { let b = n % 128; n = Math.floor(n / 128); if (n) b |= 0x80; out.push(b); } while (n);
  return Buffer.from(out);
};

/** A length-prefixed UTF-8 name. */
export const name = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([uleb(b.length), b]); };

/** A section: id, size, content. */
export const section = (id, content) => Buffer.concat([Buffer.from([id]), uleb(content.length), content]);
