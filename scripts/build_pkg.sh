#!/usr/bin/env bash
# Builds the npm package into pkg/: wasm-pack (release, --target web, so nothing is instantiated at
# import time — compat-spec P19), wasm-opt -Oz (binaryen), functions ordered for the compressor
# (order_functions), short import/export names (minify_names), then the hand-written JS entry
# (js/index.js: the drop-in `webrtcService` / `websocketService` singletons with lazy wasm init)
# bundled with wasm-bindgen's glue into one module by esbuild, its TypeScript types, and terser on
# the shipped JavaScript (like any published bundle; the types and README stay readable).
# docs/ARCHITECTURE.md ("Size budget") explains each step.
# Skips the work when pkg/ is newer than every source file (and these scripts).
# The package is built without default features: no standalone `SfuClient` class (feature
# `sfu-client`; apps reach the SFU through webrtcService).
# Source maps: index.js.map and react.js.map (the readable entry, hook and glue) ship beside
# the minified JS. SOHBET_WASM_NAMES=1 keeps the Rust function names in the wasm (a debugging
# build: stack traces name the functions; bigger, so not for release, and FORCE=1 to rebuild).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

newest_src=$(find src js scripts Cargo.toml Cargo.lock LICENSE -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -1)
if [[ -f pkg/.built ]] && [[ "${FORCE:-0}" != 1 ]] && \
   awk -v a="$(stat -c %Y pkg/.built)" -v b="${newest_src%.*}" 'BEGIN{exit !(a>=b)}'; then
  echo "[build_pkg] pkg/ is up to date"; exit 0
fi
# With the pinned nightly (scripts/env.sh) std itself is rebuilt for size: optimize_for_size
# picks std's small algorithms, and immediate-abort panics drop the panic-message formatting
# that panic = "abort" still links. Its own target dir keeps the stable builds' caches intact.
if [[ -n "$SOHBET_SIZE_TOOLCHAIN" ]] && \
   [[ -d "$(rustup run "$SOHBET_SIZE_TOOLCHAIN" rustc --print sysroot 2>/dev/null)/lib/rustlib/src" ]]; then
  echo "[build_pkg] $SOHBET_SIZE_TOOLCHAIN with build-std (size-optimised std)"
  # strip=debuginfo, not true: a fully stripped module loses its target_features section, and
  # without it wasm-bindgen returns results through a stack slot instead of multi-value
  # (longer glue and wasm; wasm-opt strips every custom section afterwards anyway).
  CARGO_PROFILE_RELEASE_STRIP=debuginfo \
  RUSTUP_TOOLCHAIN=$SOHBET_SIZE_TOOLCHAIN CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/pkg-nightly \
    RUSTFLAGS="$SOHBET_SIZE_RUSTFLAGS" \
    wasm-pack build . --release --target web --out-dir pkg --out-name sohbet_rtc --no-pack -- \
    --no-default-features -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
else
  echo "[build_pkg] stable toolchain (install $SOHBET_SIZE_TOOLCHAIN for the smaller build)"
  wasm-pack build --release --target web --out-dir pkg --out-name sohbet_rtc --no-pack -- --no-default-features
fi
WASM=pkg/sohbet_rtc_bg.wasm
before=$(stat -c %s "$WASM")
WASM_OPT_FLAGS=$SOHBET_WASM_OPT_FLAGS
if [[ "${SOHBET_WASM_NAMES:-0}" == 1 ]]; then
  WASM_OPT_FLAGS="${WASM_OPT_FLAGS/--strip-debug/} -g"
  echo "[build_pkg] keeping the wasm's function names (SOHBET_WASM_NAMES=1)"
fi
# shellcheck disable=SC2086 # the flags are a word list
wasm-opt $WASM_OPT_FLAGS "$WASM" -o "$WASM.opt" && mv "$WASM.opt" "$WASM"
echo "[build_pkg] wasm-opt: $before -> $(stat -c %s "$WASM") bytes"
# Similar functions side by side, for the compressor's window (same code; wasm-opt moves them).
node scripts/order_functions.mjs "$WASM"
# Short import/export names in the wasm and the glue (the hashed wasm-bindgen names are ~5 KB of
# incompressible entropy); the raw-export typings no longer match, so they are not shipped.
node scripts/minify_names.mjs "$WASM" pkg/sohbet_rtc.js pkg/sohbet_rtc.d.ts
rm -f pkg/sohbet_rtc_bg.wasm.d.ts
# The classes' typings declare [Symbol.dispose]: name the lib that has it, so an app compiling
# with skipLibCheck false and an ES2022 lib still type-checks (tests/e2e/consumers.mjs).
sed -i '1i /// <reference lib="esnext.disposable" />' pkg/sohbet_rtc.d.ts
# The loader's typings (InitInput, the raw exports, initSync, the default init) describe
# functions the package does not export (index.js has its own `ready`): not shipped.
sed -i '/^export type InitInput/,$d' pkg/sohbet_rtc.d.ts
# The entry and the glue it imports ship as one ES module, index.js (esbuild; the glue's exports
# nothing imports, such as initSync, are left out); sohbet_rtc.d.ts stays for the classes' types.
rm -f pkg/*.map  # maps of an earlier build would be taken as input maps below
if [[ -d js ]]; then
  cp js/* pkg/
  esbuild pkg/index.js --bundle --format=esm --target=es2020 --log-level=warning --sourcemap \
    --outfile=pkg/index.js --allow-overwrite
  rm pkg/sohbet_rtc.js
fi
for f in pkg/sohbet_rtc.js pkg/index.js pkg/react.js; do
  [[ -f $f ]] || continue
  name=$(basename "$f")
  # The map of the step before (esbuild's), if any, is the input map: the result maps to js/.
  input=""; [[ -f $f.map ]] && input="content='$f.map',"
  # shellcheck disable=SC2086 # the flags are a word list
  terser "$f" $SOHBET_TERSER_FLAGS --source-map "${input}url='$name.map',includeSources" \
    -o "$f.min" && mv "$f.min" "$f" && mv "$f.min.map" "$f.map"
done
cp LICENSE pkg/
node -e '
const fs = require("fs");
const ver = /^version = "(.*)"/m.exec(fs.readFileSync("Cargo.toml", "utf8"))[1];
const files = fs.readdirSync("pkg").filter((f) => !f.startsWith(".") && f !== "package.json" && f !== ".gitignore");
const hasShim = fs.existsSync("pkg/index.js");
const pkg = {
  name: "sohbet-rtc", version: ver, type: "module",
  description: "Hybrid P2P/SFU voice and video for Sohbet (Rust/wasm drop-in for webrtcService)",
  license: "MIT", files,
  main: hasShim ? "index.js" : "sohbet_rtc.js", module: hasShim ? "index.js" : "sohbet_rtc.js",
  types: hasShim ? "index.d.ts" : "sohbet_rtc.d.ts",
  // Only the entry, the React hook, the wasm (for bundlers that copy it by name) and
  // package.json resolve.
  exports: {
    ".": hasShim ? { types: "./index.d.ts", default: "./index.js" } : { types: "./sohbet_rtc.d.ts", default: "./sohbet_rtc.js" },
    "./react": { types: "./react.d.ts", default: "./react.js" },
    "./sohbet_rtc_bg.wasm": "./sohbet_rtc_bg.wasm",
    "./package.json": "./package.json",
  },
  sideEffects: false,
  // The hook (sohbet-rtc/react) needs React; the rest of the package does not.
  peerDependencies: { react: ">=18" },
  peerDependenciesMeta: { react: { optional: true } },
};
fs.writeFileSync("pkg/package.json", JSON.stringify(pkg, null, 2) + "\n");
'
rm -f pkg/.gitignore
touch pkg/.built
echo "[build_pkg] pkg/ ready: $(ls pkg | tr '\n' ' ')"
