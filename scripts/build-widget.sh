#!/usr/bin/env bash
# Builds the survey widget to widget/dist: yew -> wasm32 -> wasm-bindgen -> wasm-opt, plus
# the boot script and page style. Prints the weight of what a buyer downloads.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/setup.sh" widget

route=$(cat "$DEBRIEF_CACHE/wasm-route" 2>/dev/null || echo rustup)
target_dir=$(target_dir)
cd "$ROOT"
log "building the widget (wasm32, route: $route)"
if [ "$route" = debian ]; then
  # Debian's compiler has no prebuilt wasm32 std: build it from rust-web-src.
  # Its own target directory: sharing rustup's would rebuild everything at each switch.
  target_dir=$target_dir/debian-wasm
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-22 \
    /usr/bin/cargo build -q -p debrief-widget --target wasm32-unknown-unknown --profile widget \
      -Zbuild-std=std,panic_abort --target-dir "$target_dir"
elif [ -d "$(std_sources)" ]; then
  # std rebuilt for size: the buyer downloads every byte of it. A panic aborts at once
  # instead of formatting a message nobody sees, panics carry no file paths, and `Debug`
  # output is compiled out (nothing the widget shows goes through it). These options are
  # unstable, hence RUSTC_BOOTSTRAP, for this one build only. Its own target directory:
  # sharing the plain build's would rebuild everything at each switch. A toolchain
  # without one of these options (they came in Rust 1.92) builds the plain way instead:
  # heavier, never broken.
  log "std rebuilt for size (rustup's rust-src is here)"
  if ! env -u RUSTFLAGS RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
    cargo build -q -p debrief-widget --target wasm32-unknown-unknown --profile widget \
      -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size --target-dir "$target_dir/widget-std"
  then
    log "rebuilding std for size failed with this toolchain: building the widget without it"
    cargo build -q -p debrief-widget --target wasm32-unknown-unknown --profile widget
  else
    target_dir=$target_dir/widget-std
  fi
else
  log "rustup's rust-src is not here: std is not rebuilt for size (the widget is ~16 KB heavier)"
  cargo build -q -p debrief-widget --target wasm32-unknown-unknown --profile widget
fi

out="$ROOT/widget/dist"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
"$TOOLS_DIR/bin/wasm-bindgen" --target web --no-typescript --out-dir "$stage" \
  "$target_dir/wasm32-unknown-unknown/widget/debrief_widget.wasm"
raw_wasm=$(stat -c %s "$stage/debrief_widget_bg.wasm")
# Features Rust enables by default for wasm32 today; wasm-opt must accept them as input.
wasm_opt() {
  "$TOOLS_DIR/npm/node_modules/.bin/wasm-opt" \
    --enable-reference-types --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-multivalue "$@"
}
# Rust lays out wasm32 memory with the stack first: it starts at 1 MiB and grows down, and
# data sits above it. An address in the low 1 KiB would take a stack 1023 KiB deep (the
# widget's is a few KiB), so wasm-opt may assume none (`--low-memory-unused`) and fold
# constant offsets into loads and stores. The layout is checked here, not assumed.
# A module wasm-opt cannot print reads as no layout: the option stays off.
layout=$({ wasm_opt --print "$stage/debrief_widget_bg.wasm" || true; } |
  sed -n -e 's/.*(global $__stack_pointer (mut i32) (i32.const \([0-9]*\)).*/stack \1/p' \
    -e 's/.*(data $[^ ]* (i32.const \([0-9]*\)).*/data \1/p')
low_memory=()
if echo "$layout" | awk '$2 < 1048576 { low = 1 } $1 == "stack" { stack = 1 } END { exit !(stack && !low) }'; then
  low_memory=(--low-memory-unused)
else
  log "the wasm's memory layout is not stack-first above 1 MiB: wasm-opt keeps low memory"
fi
# `--converge` repeats -Oz while it still shrinks the module. Then, once, imports and
# exports get short names (wasm-bindgen's carry a hash each), and the glue script is given
# the same (scripts/wasm-names.mjs).
wasm_opt -Oz --converge "${low_memory[@]}" "$stage/debrief_widget_bg.wasm" -o "$stage/opt.wasm"
wasm_opt --minify-imports-and-exports-and-modules "$stage/opt.wasm" \
  -o "$stage/debrief_widget_bg.wasm" > "$stage/names.json"
rm "$stage/opt.wasm"
node "$ROOT/scripts/wasm-names.mjs" "$stage/names.json" "$stage/debrief_widget_bg.wasm" \
  "$stage/debrief_widget.js"
rm "$stage/names.json"
# The glue script minified: half its weight after compression. Its exports (`mount`, the
# default `init`) keep their names, as a module's exports always do.
"$TOOLS_DIR/npm/node_modules/.bin/terser" "$stage/debrief_widget.js" --module --compress --mangle \
  -o "$stage/min.js"
mv "$stage/min.js" "$stage/debrief_widget.js"
# Content-hashed names: the server caches them for a year ("immutable"); only embed.js,
# the one name a portal writes in its page, is revalidated on each load.
hash() { sha256sum "$1" | cut -c1-16; }
wasm_name="debrief_widget_bg.$(hash "$stage/debrief_widget_bg.wasm").wasm"
mv "$stage/debrief_widget_bg.wasm" "$stage/$wasm_name"
sed -i "s/debrief_widget_bg\.wasm/$wasm_name/g" "$stage/debrief_widget.js"
js_name="debrief_widget.$(hash "$stage/debrief_widget.js").js"
mv "$stage/debrief_widget.js" "$stage/$js_name"
sed "s#\./debrief_widget\.js#./$js_name#" "$ROOT/widget/static/embed.js" > "$stage/embed.js"
cp "$ROOT/widget/static/debrief.css" "$stage/"
# Compressed once, here, at the highest settings, and served as stored
# (server/src/web/assets.rs): zopfli writes ordinary gzip, 5% smaller than gzip -9.
# Each copy is decoded again and compared with its file: the server sends it unchecked.
for f in "$stage"/*; do
  zopfli -c "$f" > "$f.gz"
  brotli -q 11 -c "$f" > "$f.br"
  gzip -dc "$f.gz" | cmp -s - "$f" || { echo "the gzip copy of $f does not decode to it" >&2; exit 1; }
  brotli -dc "$f.br" | cmp -s - "$f" || { echo "the brotli copy of $f does not decode to it" >&2; exit 1; }
done
rm -rf "$out" && mkdir -p "$out" && cp "$stage"/* "$out/"

size() { stat -c %s "$1"; }
log "widget built in widget/dist (what a buyer downloads, in bytes)"
printf '  wasm: %7d before wasm-opt\n' "$raw_wasm" >&2
for f in "$wasm_name" "$js_name"; do
  printf '  %-44s %7d, %6d gzip, %6d brotli\n' "$f" "$(size "$out/$f")" "$(size "$out/$f.gz")" "$(size "$out/$f.br")" >&2
done
printf '  wasm + js: %6d gzip, %6d brotli (budget 81920 gzip)\n' \
  "$(( $(size "$out/$wasm_name.gz") + $(size "$out/$js_name.gz") ))" \
  "$(( $(size "$out/$wasm_name.br") + $(size "$out/$js_name.br") ))" >&2
