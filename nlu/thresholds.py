"""Per-label decision thresholds, chosen on a validation split by maximising F-beta."""

from __future__ import annotations

from collections.abc import Sequence

Scores = dict[str, float]


def f_beta(tp: int, fp: int, fn: int, beta: float) -> float:
    if tp == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)


def _grid(start: float, stop: float, step: float) -> list[float]:
    count = int(round((stop - start) / step)) + 1
    return [round(start + i * step, 4) for i in range(count)]


def best_threshold(
    scores: Sequence[float],
    gold: Sequence[bool],
    beta: float,
    grid: tuple[float, float, float],
    clamp: tuple[float, float],
) -> float:
    """The threshold maximising F-beta; on ties the lowest (recall first)."""
    best, best_f = clamp[0], -1.0
    for threshold in _grid(*grid):
        tp = sum(1 for s, g in zip(scores, gold, strict=True) if g and s >= threshold)
        fp = sum(1 for s, g in zip(scores, gold, strict=True) if not g and s >= threshold)
        fn = sum(1 for s, g in zip(scores, gold, strict=True) if g and s < threshold)
        f = f_beta(tp, fp, fn, beta)
        if f > best_f + 1e-9:
            best, best_f = threshold, f
    return min(max(best, clamp[0]), clamp[1])


def choose_thresholds(
    predictions: Sequence[Scores],
    gold: Sequence[set[str]],
    keys: Sequence[str],
    config: dict,
) -> dict[str, float]:
    """Thresholds for every key from validation predictions and gold key sets."""
    recall_first = set(config["recall_first"])
    grid = tuple(config["grid"])
    clamp = tuple(config["clamp"])
    # The validation split is nearly separable, so F-beta is flat over a wide range and the
    # point picked on it is noise; recall-first labels get a lower ceiling.
    clamp_first = tuple(config.get("clamp_recall_first", clamp))
    out = {}
    for key in keys:
        first = key in recall_first
        beta = config["beta_recall_first"] if first else config["beta_default"]
        column = [p.get(key, 0.0) for p in predictions]
        truth = [key in g for g in gold]
        if not any(truth):
            out[key] = float(config["default"])
            continue
        bounds = clamp_first if first else clamp
        out[key] = best_threshold(column, truth, float(beta), grid, bounds)  # type: ignore[arg-type]
    return out
