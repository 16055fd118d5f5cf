"""NLU benchmark: single-message latency (p50/p99), batch throughput and peak memory.

    .venv/bin/python benchmarks/nlu.py [--backend spacy|rasa] [--single 1000] [--batch 256]

Pinned to one CPU core (the issue's target is per core). Messages are the project's test
split, cycled. The rasa backend is measured only when its server answers (scripts/rasa/).
Prints one JSON object; docs/nlu.md quotes the figures.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy is imported
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

# Replace this script's folder on the path by the project root: the folder holds other
# benchmarks (queue.py) that would shadow standard modules, and this file is named nlu.py.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from nlu.backends import BackendUnavailable  # noqa: E402
from nlu.paths import default_paths  # noqa: E402
from nlu.pipeline import load_pipeline  # noqa: E402
from nlu.training_data import load_test_examples  # noqa: E402


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _messages(count: int) -> list[str]:
    texts = [e.text for e in load_test_examples(default_paths().test_dir)]
    # Unique texts: repeated ones would hit the normalisation cache and flatter the figures.
    return [f"{texts[i % len(texts)]} {i}" for i in range(count)]


def _latency(pipeline, texts: list[str]) -> dict[str, float]:
    for text in texts[:50]:
        pipeline.analyze(text)  # warm caches and lazy initialisation
    timings = []
    for text in texts:
        started = time.perf_counter()
        pipeline.analyze(text)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "messages": len(texts),
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(_percentile(timings, 0.99), 3),
        "max_ms": round(max(timings), 3),
    }


def _throughput(pipeline, texts: list[str], batch: int) -> dict[str, float]:
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        pipeline.analyze_many(texts[start : start + batch])
    elapsed = time.perf_counter() - started
    return {"messages": len(texts), "batch": batch, "msg_per_s": round(len(texts) / elapsed, 1)}


def _traced_peak(pipeline, texts: list[str], batch: int) -> float:
    tracemalloc.start()
    pipeline.analyze_many(texts[:batch])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return round(peak / 2**20, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("spacy", "rasa"), default="spacy")
    parser.add_argument("--single", type=int, default=1000, help="messages for latency")
    parser.add_argument("--batch", type=int, default=256, help="batch size for throughput")
    parser.add_argument("--batch-messages", type=int, default=5000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    started = time.perf_counter()
    try:
        pipeline = load_pipeline(backend=args.backend)
        pipeline.analyze("你好")
    except (BackendUnavailable, ImportError, OSError) as exc:
        print(json.dumps({"backend": args.backend, "skipped": str(exc)}, ensure_ascii=False))
        return 0
    load_s = time.perf_counter() - started
    result = {
        "backend": args.backend,
        "cores": 1,
        "load_s": round(load_s, 2),
        "single": _latency(pipeline, _messages(args.single)),
        "throughput": _throughput(pipeline, _messages(args.batch_messages), args.batch),
        "batch_alloc_peak_mib": _traced_peak(pipeline, _messages(args.batch), args.batch),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
