#!/usr/bin/env bash
# Export the Rasa project from data/ and train its NLU model into var/rasa/models.
# Skips training when the exported project is unchanged since the last model (hash stamp).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$ROOT/scripts/rasa/setup.sh"
mkdir -p "$MODELS_DIR"
(cd "$ROOT" && "$MAIN_PYTHON" -m nlu.rasa_export --out "$PROJECT_DIR")

# The model depends on the exported files and the Rasa version only (the seed is fixed).
fingerprint="$(
  cd "$PROJECT_DIR" &&
    { echo "$RASA_VERSION"; find config.yml domain.yml data jieba -type f 2>/dev/null | sort | xargs sha256sum; } |
    sha256sum | cut -d' ' -f1
)"
STAMP="$MODELS_DIR/$MODEL_NAME.sha256"
if [[ -f "$MODEL_FILE" && -f "$STAMP" && "$(cat "$STAMP")" == "$fingerprint" ]]; then
  echo "rasa model up to date: $MODEL_FILE"
  exit 0
fi

start=$(date +%s)
echo "rasa: training $MODEL_FILE (log: $RASA_VAR/train.log)"
rm -f "$STAMP"
if ! (cd "$PROJECT_DIR" && "$VENV/bin/rasa" train nlu --config config.yml --nlu data/nlu.yml \
  --out "$MODELS_DIR" --fixed-model-name "$MODEL_NAME") >"$RASA_VAR/train.log" 2>&1; then
  tail -n 20 "$RASA_VAR/train.log" >&2
  die "training failed (full log: $RASA_VAR/train.log)"
fi
[[ -f "$MODEL_FILE" ]] || die "training finished without writing $MODEL_FILE"
echo "$fingerprint" >"$STAMP"
echo "rasa model trained in $(($(date +%s) - start)) s: $MODEL_FILE"
