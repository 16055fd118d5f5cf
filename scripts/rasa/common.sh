# Shared settings of the Rasa scripts; sourced, not run.
# Python 3.10 environment outside the project: rasa 3.6 pins SQLAlchemy 1.4 and tensorflow.
RASA_VERSION="3.6.21"
JIEBA_VERSION="0.42.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RASA_HOME="${HELPLINE_RASA_HOME:-$HOME/.cache/helpline/rasa}"
VENV="$RASA_HOME/venv"
VAR_DIR="${HELPLINE_VAR_DIR:-$ROOT/var}"
RASA_VAR="$VAR_DIR/rasa"
PROJECT_DIR="$RASA_VAR/project"
MODELS_DIR="$RASA_VAR/models"
MODEL_NAME="helpline-nlu"
MODEL_FILE="$MODELS_DIR/$MODEL_NAME.tar.gz"
PORT="${HELPLINE_RASA_PORT:-5005}"
PID_FILE="$RASA_VAR/rasa-$PORT.pid"
LOG_FILE="$RASA_VAR/rasa-$PORT.log"
# The main project's interpreter (for the exporter).
MAIN_PYTHON="${HELPLINE_PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$MAIN_PYTHON" ]] || MAIN_PYTHON="$(command -v python3)"

# Rasa reports telemetry and errors to the internet unless told not to.
export RASA_TELEMETRY_ENABLED=false
export TF_CPP_MIN_LOG_LEVEL=2
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

die() {
  echo "rasa: $*" >&2
  exit 1
}

# 0 when the server on $PORT answers /status.
rasa_status_ok() {
  "$VENV/bin/python" - "$PORT" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status", timeout=2).read()
PY
}

# The pid of our server when it is alive, else nothing.
rasa_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 0
  pid="$(cat "$PID_FILE")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    echo "$pid"
  fi
}
