#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs the project with its dev extras; a no-op when the
# installed environment already matches pyproject.toml.
# `--runtime` (scripts/run.sh): the project without the dev extras (tests, linters, Chromium
# driver, OpenCV: half the install time of a first start); a full install also satisfies it.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in python3.11 "$(command -v pyenv >/dev/null 2>&1 && echo "$(pyenv root)/versions/$(pyenv versions --bare 2>/dev/null | grep -E '^3\.11' | tail -1)/bin/python")" python3; do
    if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "no Python >= 3.11 found" >&2; return 1
}

# What pip is doing, from its log: resolving (how many packages so far), building, installing.
pip_phase() {
  if grep -q '^Installing collected packages' "$1"; then echo "installing the packages"
  elif grep -q '^Building' "$1"; then echo "building the project"
  else echo "$(grep -c '^Collecting\|^Requirement already' "$1" || true) packages resolved"
  fi
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' 2>/dev/null; then
  rm -rf .venv
  "$(find_python)" -m venv .venv
fi
hash=$(sha256sum pyproject.toml | cut -c1-16)
stamp=.venv/.installed-$hash
target='.[dev]'
if [ "${1:-}" = "--runtime" ]; then
  [ -f "$stamp" ] && exit 0  # the full install holds the runtime
  stamp=.venv/.installed-runtime-$hash
  target='.'
fi
if [ ! -f "$stamp" ]; then
  # pip's own output goes to a log: shown whole when an install fails, never swallowed.
  mkdir -p var && chmod 700 var
  log=var/setup-pip.log
  echo "installing the Python dependencies ($target) into .venv (first run: 1-3 minutes from pip's cache, by the machine's load; log: $log)"
  # Python 3.11's own pip (23.2) installs this project; upgrading it first cost 5-10 s.
  .venv/bin/python -m pip install --disable-pip-version-check -e "$target" >"$log" 2>&1 &
  pip_pid=$!
  started=$SECONDS
  # A line every 20 s, so a quiet install is not taken for a hung one.
  while kill -0 "$pip_pid" 2>/dev/null; do
    sleep 1
    if (( (SECONDS - started) % 20 == 0 )) && kill -0 "$pip_pid" 2>/dev/null; then
      echo "  ... still installing ($((SECONDS - started)) s: $(pip_phase "$log"))"
    fi
  done
  if ! wait "$pip_pid"; then
    tail -n 40 "$log" >&2
    echo "FATAL: installing the dependencies failed (whole log: $log)" >&2
    exit 1
  fi
  echo "  installed in $((SECONDS - started)) s"
  # Fail loudly on a broken install. Not spaCy (15-20 s to import on a busy machine): only the
  # background training needs it, and its log and the console's notice show a failure.
  .venv/bin/python -c 'import helpline, fastapi, sqlalchemy'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
