# Shared by scripts/demo, scripts/test and scripts/new-migration (sourced, not run).
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A Python 3.11+ interpreter to build .venv from.
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# Hash of both requirements files: .venv is reinstalled only when they change.
requirements_hash() {
    cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1
}

# ensure_venv runtime|dev: create .venv if missing and install the requirements once.
# .venv/.requirements.sha holds "<hash> <level>"; "dev" includes "runtime".
ensure_venv() {
    local level="$1" want stamp="$VENV/.requirements.sha" have_hash="" have_level=""
    want="$(requirements_hash)"
    if [ ! -x "$PY" ] || ! "$PY" -c 'import sys' >/dev/null 2>&1; then
        local python
        python="$(find_python)" || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"
        say "creating .venv with $python"
        rm -rf "$VENV"
        "$python" -m venv "$VENV" || die "could not create .venv (Debian: apt-get install python3-venv)"
    fi
    if [ -f "$stamp" ]; then
        read -r have_hash have_level < "$stamp" || true
    fi
    if [ "$have_hash" = "$want" ] && { [ "$have_level" = dev ] || [ "$level" = "$have_level" ]; }; then
        return 0
    fi
    local file="$ROOT/requirements.txt"
    [ "$level" = dev ] && file="$ROOT/requirements-dev.txt"
    say "installing $(basename "$file") into .venv"
    "$PY" -m pip install --disable-pip-version-check --quiet -r "$file" \
        || die "pip install -r $(basename "$file") failed"
    printf '%s %s\n' "$want" "$level" > "$stamp"
}

# A free TCP port on 127.0.0.1.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Run a command as root: directly, or through sudo when available.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        return 1
    fi
}

APT_UPDATED=""
# apt_install PKG...: install Debian packages (apt-get update once per script run). The
# output goes to a log shown only when apt-get fails.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || { warn "apt-get not found (not Debian?)"; return 1; }
    if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
        warn "installing $* needs root (or sudo)"
        return 1
    fi
    local log
    log="$(mktemp -t sidecard-apt.XXXXXX)"
    if [ -z "$APT_UPDATED" ]; then
        if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update >"$log" 2>&1; then
            tail -n 20 "$log" >&2; rm -f "$log"; warn "apt-get update failed"; return 1
        fi
        APT_UPDATED=1
    fi
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "$@" >"$log" 2>&1; then
        tail -n 20 "$log" >&2; rm -f "$log"; warn "apt-get install $* failed"; return 1
    fi
    rm -f "$log"
}
