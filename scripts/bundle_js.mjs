// Joins the package's two ES modules into one (a build step of scripts/build_pkg.sh, before
// terser): wasm-bindgen's glue (sohbet_rtc.js: the exported classes and the wasm loader) and the
// hand-written entry (js/index.js: the drop-in singletons, which import the glue). One file
// compresses better than two (shared names, one gzip stream: ~0.3 KB), and terser can then drop
// the glue's exports that nothing uses (`initSync`) and inline across the seam.
//
// What changes: index.js's `import init, { … } from './sohbet_rtc.js'` and its re-export of the
// classes are dropped (the glue's own `export class` lines export them), and the glue's
// `export { initSync, __wbg_init as default }` goes (the package's default export stays
// index.js's `webrtcService`). `init` becomes the small loader below, over the glue's
// `__wbg_get_imports` / `__wbg_finalize_init`: index.js already loads once and retries after a
// failure, so the glue's own once-guard, its deprecated call forms and their warnings, and
// `initSync` are left unused for terser to drop (~0.2 KB gzip). Any other shape is an error, as
// is a top-level name declared in both files (terser refuses the joined module then).
//
// Usage: node scripts/bundle_js.mjs <glue.js> <index.js>   (index.js is rewritten; the glue file
// is removed)
import fs from 'node:fs';

const [gluePath, entryPath] = process.argv.slice(2);
let glue = fs.readFileSync(gluePath, 'utf8');
let entry = fs.readFileSync(entryPath, 'utf8');
const die = (msg) => { console.error(`[bundle_js] ${msg}`); process.exit(1); };

/** Replaces exactly one occurrence of `pattern` in `text`, or fails the build. */
function once(text, pattern, replacement, what) {
  const hits = text.match(new RegExp(pattern.source, 'gm')) ?? [];
  if (hits.length !== 1) die(`expected one ${what}, found ${hits.length}`);
  return text.replace(pattern, replacement);
}

/**
 * The loader index.js calls as `init({ module_or_path })`: the wasm next to this file by default,
 * or a URL, path, Request, Response, bytes or `WebAssembly.Module`. A Response served without
 * the `application/wasm` type is compiled from its bytes.
 */
const loader = (name) => `async function ${name}(options) {
  let source = options?.module_or_path ?? new URL('sohbet_rtc_bg.wasm', import.meta.url);
  if (typeof source === 'string' || source instanceof URL
      || (typeof Request === 'function' && source instanceof Request)) source = fetch(source);
  source = await source;
  const imports = __wbg_get_imports();
  let result;
  if (typeof Response === 'function' && source instanceof Response) {
    if (!source.ok) throw new Error(\`failed to fetch Wasm: \${source.status} \${source.url}\`);
    result = await WebAssembly.instantiateStreaming(source, imports).catch(async (e) => {
      if (source.headers.get('Content-Type') === 'application/wasm') throw e;
      return WebAssembly.instantiate(await source.arrayBuffer(), imports);
    });
  } else {
    result = await WebAssembly.instantiate(source, imports);
    if (result instanceof WebAssembly.Instance) result = { instance: result, module: source };
  }
  return __wbg_finalize_init(result.instance, result.module);
}`;

const importLine = /^import (\w+), \{ ([\w, ]+) \} from '\.\/sohbet_rtc\.js';$/m;
const m = importLine.exec(entry);
if (!m) die("index.js does not import './sohbet_rtc.js' as expected");
const [, initName, classes] = m;
entry = once(entry, importLine, loader(initName), 'glue import in index.js');
entry = once(entry, new RegExp(`^export \\{ ${classes} \\};$`, 'm'), '', 're-export of the classes in index.js');
glue = once(glue, /^export \{ initSync, __wbg_init as default \};$/m, '', 'export list in the glue');
for (const name of ['__wbg_get_imports', '__wbg_finalize_init']) {
  if (!new RegExp(`^function ${name}\\(`, 'm').test(glue)) die(`the glue has no function ${name}`);
}
for (const name of classes.split(', ')) {
  if (!new RegExp(`^export class ${name} `, 'm').test(glue)) die(`the glue does not export class ${name}`);
}
fs.writeFileSync(entryPath, `${glue}\n${entry}`);
fs.rmSync(gluePath);
console.log(`[bundle_js] ${entryPath}: wasm-bindgen glue + entry in one module`);
