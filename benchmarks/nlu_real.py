"""False alarms of the whole pipeline on real ordinary text (issue 15): every 7th comment of
the COLD corpus in data/nlu/real (Apache-2.0) and, when present, the 2,000 Weibo posts of
../shared/data/validation (read in aggregate only). Prints JSON lines, one a corpus.

    .venv/bin/python benchmarks/nlu_real.py [--every 7]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nlu.evaluation import false_alarms, iter_texts
from nlu.paths import default_paths
from nlu.pipeline import load_pipeline
from nlu.rule_budget import read_corpus


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
