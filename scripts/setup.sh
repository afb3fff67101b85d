#!/usr/bin/env bash
# Installs what building and testing Debrief needs on a fresh Debian machine, and skips
# whatever is already there. Safe to run again.
#
#   scripts/setup.sh          everything (widget toolchain, Chromium, PostgreSQL client)
#   scripts/setup.sh widget   only what building the widget needs
set -euo pipefail
source "$(dirname "$0")/lib.sh"
what=${1:-all}

# Native build: lettre and fantoccini link OpenSSL.
apt_install pkg-config libssl-dev ca-certificates

# --- The wasm32 target: rustup's, or Debian's compiler with std built from source.
if [ -z "${DEBRIEF_WASM_ROUTE:-}" ]; then
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    DEBRIEF_WASM_ROUTE=rustup
  elif timeout 300 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    DEBRIEF_WASM_ROUTE=rustup
  else
    DEBRIEF_WASM_ROUTE=debian
  fi
fi
if [ "$DEBRIEF_WASM_ROUTE" = debian ]; then
  log "rustup cannot add wasm32-unknown-unknown: using Debian's rustc-web and -Zbuild-std"
  apt_install rustc-web cargo-web rust-web-src lld-22
elif [ ! -d "$(std_sources)" ]; then
  # std's sources let the widget's build rebuild std for size (scripts/build-widget.sh);
  # without them the widget still builds, only heavier.
  timeout 300 rustup component add rust-src >/dev/null 2>&1 \
    || log "rustup cannot add rust-src: the widget will build without std rebuilt for size"
fi
mkdir -p "$DEBRIEF_CACHE"
echo "$DEBRIEF_WASM_ROUTE" > "$DEBRIEF_CACHE/wasm-route"

# --- wasm-bindgen-cli, pinned to Cargo.lock, built once into the cache.
wb_version=$(wasm_bindgen_version)
if ! "$TOOLS_DIR/bin/wasm-bindgen" --version 2>/dev/null | grep -qF " $wb_version"; then
  log "building wasm-bindgen-cli $wb_version (once; about 5 minutes on 2 cores)"
  # No --locked: the CLI's own lockfile pins crates the registry here may not serve.
  cargo install -q wasm-bindgen-cli --version "$wb_version" --root "$TOOLS_DIR" --force
fi

# --- wasm-opt. Debian's binaryen is too old to read reference types; the npm build is new.
if [ ! -x "$TOOLS_DIR/npm/node_modules/.bin/wasm-opt" ]; then
  command -v npm >/dev/null || apt_install nodejs npm
  log "installing binaryen (wasm-opt) from npm"
  mkdir -p "$TOOLS_DIR/npm"
  (cd "$TOOLS_DIR/npm" && npm install --silent --no-audit --no-fund binaryen@132 >/dev/null)
fi

# --- terser: wasm-bindgen's glue script, minified (the buyer downloads it with the wasm).
if [ ! -x "$TOOLS_DIR/npm/node_modules/.bin/terser" ]; then
  command -v npm >/dev/null || apt_install nodejs npm
  log "installing terser from npm"
  mkdir -p "$TOOLS_DIR/npm"
  (cd "$TOOLS_DIR/npm" && npm install --silent --no-audit --no-fund terser@5.51.2 >/dev/null)
fi
# --- zopfli and brotli: the widget is compressed once, at build time, at their best.
apt_install zopfli brotli

[ "$what" = widget ] && exit 0

# --- Test libraries from npm: SurveyJS's own (the tests load exported surveys into it)
# and axe-core (the accessibility checks run it in headless Chromium).
for pkg in survey-core@3.1.1 axe-core@4.14.1; do
  if [ ! -f "$TOOLS_DIR/npm/node_modules/${pkg%@*}/package.json" ]; then
    command -v npm >/dev/null || apt_install nodejs npm
    log "installing $pkg from npm (for the tests)"
    mkdir -p "$TOOLS_DIR/npm"
    (cd "$TOOLS_DIR/npm" && npm install --silent --no-audit --no-fund "$pkg" >/dev/null)
  fi
done

# --- Test tools: headless Chromium with its WebDriver, and PostgreSQL's client and server
# binaries (for a throwaway cluster when none is running).
apt_install chromium chromium-driver postgresql-client
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
log "setup complete"
