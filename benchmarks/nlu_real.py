"""False alarms of the whole pipeline on real ordinary text (issue 15): every 7th comment of
the COLD corpus in data/nlu/real (Apache-2.0) and, when present, the 2,000 Weibo posts of
../shared/data/validation (read in aggregate only). Prints JSON lines, one a corpus.

    .venv/bin/python benchmarks/nlu_real.py [--every 7]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# This folder holds benchmarks/nlu.py, which would shadow the nlu package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from nlu.evaluation import false_alarms, iter_texts  # noqa: E402
from nlu.paths import default_paths  # noqa: E402
from nlu.pipeline import load_pipeline  # noqa: E402
from nlu.rule_budget import read_corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", type=int, default=7)
    args = parser.parse_args()
    paths = default_paths()
    pipeline = load_pipeline()
    cold = read_corpus(paths.data_dir / "nlu" / "real" / "cold_comments.txt.gz")[:: args.every]
    print(json.dumps({"corpus": "cold", **false_alarms(pipeline, cold).to_dict()}))
    weibo = Path(__file__).resolve().parents[2] / "shared/data/validation/ordinary_weibo.jsonl"
    if weibo.exists():
        report = false_alarms(pipeline, list(iter_texts(weibo)))
        print(json.dumps({"corpus": "ordinary_weibo", **report.to_dict()}))


if __name__ == "__main__":
    main()
