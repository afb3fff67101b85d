# Shared by the scripts: where cached tools live and how to log.
# Sourced, not run.

# Tools that are slow to build (wasm-bindgen-cli: ~5 min) live outside the clone, so a
# fresh clone on the same machine starts warm.
DEBRIEF_CACHE=${DEBRIEF_CACHE:-$HOME/.cache/debrief}
TOOLS_DIR=$DEBRIEF_CACHE/tools
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# apt-get update once per script run, and only when something must be installed.
APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
      echo "missing packages: ${missing[*]}; install them as root (apt-get install ${missing[*]}) and run again" >&2
      exit 1
    fi
    sudo="sudo"
  fi
  if [ $APT_UPDATED -eq 0 ]; then
    log "apt-get update"
    $sudo apt-get update -qq
    APT_UPDATED=1
  fi
  log "installing ${missing[*]}"
  # `env` carries the setting through sudo, which would otherwise reset it.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Where rustup keeps std's sources (the rust-src component), which rebuilding std needs.
std_sources() {
  echo "$(rustc --print sysroot)/lib/rustlib/src/rust/library"
}

# Cargo's target directory, without asking cargo (its metadata is JSON, and a fresh machine
# may have no JSON tool).
target_dir() {
  echo "${CARGO_TARGET_DIR:-$ROOT/target}"
}

# The exact wasm-bindgen version in Cargo.lock: the CLI must match it to the patch level.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock"
}
