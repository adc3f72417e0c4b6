#!/usr/bin/env bash
# Lägesbild set-up and the two entry points of the README:
#   ./run.sh        set up, start the local PostGIS, migrate, load the demo, serve pygeoapi
#   ./run.sh test   set up, run the whole test suite
# Safe to re-run. Works as root (CI) and as a normal user with sudo.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Leaflet and Bootstrap: the HTML map previews, served by the service (no CDN needed).
APT_PACKAGES=(postgresql-15 postgresql-15-postgis-3 gdal-bin
  libjs-leaflet libjs-leaflet.markercluster libjs-bootstrap5)
# The tests also drive a real browser over the HTML pages.
# and QGIS (python3-qgis, Debian's Python) opens the layers as a GIS user would.
[ "${1:-up}" = test ] && APT_PACKAGES+=(chromium python3-qgis)

install_system_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> Installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # Debian starts a system cluster on install; Lägesbild runs its own and needs none.
  fi
}

find_python() {
  # LAGESBILD_PYTHON wins; otherwise the first interpreter >= 3.12 found.
  local candidates=()
  [ -n "${LAGESBILD_PYTHON:-}" ] && candidates+=("$LAGESBILD_PYTHON")
  candidates+=(python3.14 python3.13 python3.12 python3)
  for root in "${PYENV_ROOT:-$HOME/.pyenv}" /root/.pyenv; do
    for d in "$root"/versions/3.1[2-9]*/bin/python3; do [ -x "$d" ] && candidates+=("$d"); done
  done
  for d in /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9] "$HOME"/.local/bin/python3.1[2-9]; do
    [ -x "$d" ] && candidates+=("$d")
  done
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
      command -v "$c" || echo "$c"
      return 0
    fi
  done
  echo "No Python >= 3.12 found. Install one, or set LAGESBILD_PYTHON=/path/to/python3.12" >&2
  return 1
}

setup_venv() {
  local stamp=.venv/.installed
  local want
  want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ]; then
    local py
    py=$(find_python)
    echo "==> Creating .venv with $py ($("$py" --version))"
    "$py" -m venv .venv
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> Installing Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test,bench]"
    echo "$want" > "$stamp"
  fi
}

install_system_packages
setup_venv

case "${1:-up}" in
  up)
    shift || true
    exec .venv/bin/lagesbild up "$@"
    ;;
  test)
    shift
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: ./run.sh [up|test] [args...]" >&2
    exit 2
    ;;
esac
