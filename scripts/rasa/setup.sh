#!/usr/bin/env bash
# Create (or repair) the Rasa environment: Python 3.10 venv with rasa and jieba.
# Idempotent: a stamp file makes a second run return at once.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WANT="rasa==$RASA_VERSION jieba==$JIEBA_VERSION"
STAMP="$VENV/.helpline-installed"

venv_ok() {
  [[ -x "$VENV/bin/python" && -x "$VENV/bin/rasa" ]] &&
    "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null
}

if venv_ok && [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "rasa environment ready: $VENV"
  exit 0
fi

# A Python 3.10: HELPLINE_RASA_PYTHON, else the newest pyenv 3.10.x, else python3.10 on PATH.
find_python310() {
  local candidate root
  if [[ -n "${HELPLINE_RASA_PYTHON:-}" ]]; then
    echo "$HELPLINE_RASA_PYTHON"
    return
  fi
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  for candidate in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do
    if [[ -x "$candidate/bin/python3.10" ]]; then
      echo "$candidate/bin/python3.10"
      return
    fi
  done
  command -v python3.10 || true
}

PYTHON310="$(find_python310)"
[[ -n "$PYTHON310" ]] || die "no Python 3.10 found (install one with pyenv, or set HELPLINE_RASA_PYTHON)"
"$PYTHON310" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' ||
  die "$PYTHON310 is not a working Python 3.10"

if [[ -e "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
  echo "rasa: removing broken environment $VENV"
  rm -rf "$VENV"
fi
mkdir -p "$RASA_HOME"
[[ -x "$VENV/bin/python" ]] || "$PYTHON310" -m venv "$VENV"

# pip warns once per package about this machine's missing local index folders: noise.
quiet_pip() {
  "$VENV/bin/python" -m pip install --no-input --quiet "$@" 2>&1 |
    { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

start=$(date +%s)
echo "rasa: installing $WANT into $VENV (tensorflow: a few minutes)"
quiet_pip --upgrade pip
# shellcheck disable=SC2086 # WANT is a list of requirements
quiet_pip $WANT
"$VENV/bin/rasa" --version >/dev/null
echo "$WANT" >"$STAMP"
echo "rasa environment ready: $VENV ($(($(date +%s) - start)) s)"
