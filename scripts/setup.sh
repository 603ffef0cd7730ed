#!/usr/bin/env bash
# Installs everything a fresh machine needs to build, test and demo sohbet-rtc.
# Idempotent: every step checks first and skips what is already present.
# Cached tools live in ${SOHBET_CACHE:-$HOME/.cache/sohbet-rtc} so fresh clones reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

log() { printf '[setup] %s\n' "$*"; }
# cargo install with the crate's own lock file; without it when the registry lacks a locked version.
cargo_install() { cargo install --locked "$1" --version "=$2" || cargo install "$1" --version "=$2"; }

# --- Rust: wasm32 target, wasm-pack, wasm-bindgen-cli (version pinned to Cargo.lock) ---------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown
fi
for comp in clippy rustfmt; do
  rustup component list --installed | grep -q "^$comp" || rustup component add "$comp"
done
if ! command -v wasm-pack >/dev/null 2>&1 || [[ "$(wasm-pack --version)" != *"$WASM_PACK_VERSION"* ]]; then
  log "installing wasm-pack $WASM_PACK_VERSION"; cargo_install wasm-pack "$WASM_PACK_VERSION"
fi
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock 2>/dev/null || true)
if [[ -n "$WB_VERSION" ]] && { ! command -v wasm-bindgen >/dev/null 2>&1 || [[ "$(wasm-bindgen --version)" != *"$WB_VERSION"* ]]; }; then
  log "installing wasm-bindgen-cli $WB_VERSION"; cargo_install wasm-bindgen-cli "$WB_VERSION"
fi
# The pinned nightly (with rust-src) that builds the shipped package's std for size. Optional:
# without it scripts/build_pkg.sh falls back to stable and the package is larger.
if [[ -n "$SOHBET_SIZE_TOOLCHAIN" ]] && ! rustup run "$SOHBET_SIZE_TOOLCHAIN" rustc --print sysroot >/dev/null 2>&1; then
  log "installing $SOHBET_SIZE_TOOLCHAIN (rust-src) for the size-optimised package build"
  rustup toolchain install "$SOHBET_SIZE_TOOLCHAIN" --profile minimal --component rust-src \
    --target wasm32-unknown-unknown || log "could not install $SOHBET_SIZE_TOOLCHAIN: the package will be built with stable"
fi

# --- Debian: chromium, chromedriver ---------------------------------------------------------
# (wasm-opt comes from npm's binaryen 132: Debian's binaryen 108 emits wasm that browsers refuse.)
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if ((${#need_apt[@]})); then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# --- livekit-server (Go, pinned tag without replace directives) ------------------------------
if [[ ! -x "$LIVEKIT_SERVER_BIN" ]]; then
  log "building livekit-server $LIVEKIT_VERSION (go install)"
  mkdir -p "$SOHBET_CACHE/gobin-$LIVEKIT_VERSION"
  GOBIN="$SOHBET_CACHE/gobin-$LIVEKIT_VERSION" CGO_ENABLED=0 GOFLAGS=-mod=mod \
    go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
  mkdir -p "$(dirname "$LIVEKIT_SERVER_BIN")"
  mv "$SOHBET_CACHE/gobin-$LIVEKIT_VERSION/server" "$LIVEKIT_SERVER_BIN"
fi

# --- npm dev dependencies (playwright-core, livekit-client for interop/bench) ----------------
if [[ -f package.json ]]; then
  if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    log "npm install"; npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
  fi
fi
log "ready"
