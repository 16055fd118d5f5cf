#!/usr/bin/env bash
# The local services the test suite needs: PostgreSQL, and Debian's Chromium for browser tests.
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "FATAL: PostgreSQL is not running on 127.0.0.1:5432 and could not be started" >&2
  exit 1
fi
command -v pg_dump >/dev/null || { echo "FATAL: pg_dump not found" >&2; exit 1; }

# Chinese glyphs for the screenshots come from fonts-wqy-microhei.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] \
  || ! fc-list 2>/dev/null | grep -qi 'wqy'; then
  echo "installing Debian chromium and a Chinese font for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei fontconfig >/dev/null
fi
/usr/bin/chromium --version >/dev/null || { echo "FATAL: chromium does not run" >&2; exit 1; }
