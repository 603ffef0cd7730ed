// Shipped size of the npm package vs livekit-client (a benchmark, not a test): takes the wasm
// and the shipped JavaScript (glue + index.js) of the package directory built by
// scripts/build_pkg.sh, exactly as `npm pack` would ship them, compresses each with gzip -9 and
// brotli (q 11) via node:zlib, and does the same for livekit-client's minified bundle. Prints
// `BENCH name=value` lines and merges them into bench/results.json.
// With `--budget BYTES` it is the size gate of scripts/test.sh instead: it fails when the
// package's gzip size exceeds BYTES and then prints where the bytes go (scripts/wasm_breakdown.sh);
// bench/results.json is left alone.
// Usage: node scripts/bundle_size.mjs [--budget BYTES] [pkg-dir]   (default: pkg)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const budgetAt = args.indexOf('--budget');
const budget = budgetAt >= 0 ? Number(args.splice(budgetAt, 2)[1]) : null;
const candidates = [args[0], 'pkg'].filter(Boolean);
const dir = candidates.map((d) => path.resolve(ROOT, d)).find((d) => fs.existsSync(path.join(d, 'sohbet_rtc_bg.wasm')));
if (!dir) {
  console.error(`no release build found in ${candidates.join(', ')}; run scripts/build_pkg.sh first`);
  process.exit(1);
}
const gzip = (buf) => zlib.gzipSync(buf, { level: 9 }).length;
const brotli = (buf) => zlib.brotliCompressSync(buf, {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
}).length;

// The wasm exactly as shipped (scripts/build_pkg.sh optimised it and minified its names).
const wasm = fs.readFileSync(path.join(dir, 'sohbet_rtc_bg.wasm'));
// Every shipped JavaScript file, each compressed on its own as a server would send it (minified by
// scripts/build_pkg.sh): index.js, the drop-in entry joined with the wasm-bindgen glue (a build
// that still ships the glue as sohbet_rtc.js beside it counts both), and react.js, the hook.
const jsFiles = ['sohbet_rtc.js', 'index.js', 'react.js'].filter((f) => fs.existsSync(path.join(dir, f)));
const js = jsFiles.map((f) => fs.readFileSync(path.join(dir, f)));
const sum = (f) => js.reduce((a, b) => a + f(b), 0);
const glue = { length: sum((b) => b.length), gzip: sum(gzip) };
const ours = { raw: wasm.length + glue.length, gzip: gzip(wasm) + glue.gzip, brotli: brotli(wasm) + sum(brotli) };

if (budget !== null) {
  const verdict = ours.gzip <= budget ? 'within' : 'OVER';
  console.log(`size gate: the package is ${ours.gzip} B gzip, ${verdict} the budget of ${budget} B`);
  if (ours.gzip > budget) {
    console.log('largest contributors (scripts/wasm_breakdown.sh):');
    spawnSync('bash', [path.join(ROOT, 'scripts/wasm_breakdown.sh')], { stdio: 'inherit' });
    process.exit(1);
  }
  process.exit(0);
}

const lkDir = path.join(ROOT, 'node_modules/livekit-client/dist');
const lkMin = fs.readFileSync(path.join(lkDir, 'livekit-client.umd.js'));
const lkEsm = fs.readFileSync(path.join(lkDir, 'livekit-client.esm.mjs'));
const lines = [
  `BENCH bundle_raw_bytes=${ours.raw}`,
  `BENCH bundle_wasm_opt_bytes=${wasm.length}`,
  `BENCH bundle_wasm_gzip_bytes=${gzip(wasm)}`,
  `BENCH bundle_js_gzip_bytes=${glue.gzip}`,
  `BENCH bundle_gzip_bytes=${ours.gzip}`,
  `BENCH bundle_brotli_bytes=${ours.brotli}`,
  `BENCH livekit_client_bundle_gzip_bytes=${gzip(lkMin)}`,
  `BENCH livekit_client_bundle_brotli_bytes=${brotli(lkMin)}`,
  `BENCH livekit_client_esm_gzip_bytes=${gzip(lkEsm)}`,
  `BENCH bundle_vs_livekit_gzip_ratio=${(ours.gzip / gzip(lkMin)).toFixed(3)}`,
];
console.log(`measured ${path.relative(ROOT, dir)}: wasm ${wasm.length} B (gzip ${gzip(wasm)}), JS ${jsFiles.join(' + ')} ${glue.length} B (gzip ${glue.gzip})`);
for (const l of lines) console.log(l);
const merge = spawnSync('node', [path.join(ROOT, 'scripts/bench_merge.mjs'), '--stdin'], { input: lines.join('\n') });
process.stdout.write(merge.stdout);
