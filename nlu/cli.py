"""`helpline nlu ...`: train, classify (JSON lines in, JSON lines out), evaluate.

Run it standalone with `python -m nlu.cli ...`; the lead mounts `app` as `helpline nlu`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nlu.backends import BackendUnavailable
from nlu.labels import URGENCIES
from nlu.paths import default_paths
from nlu.warmup import TrainingProgress, clear_status

# No pretty tracebacks: they print local variables, and those can hold message text.
app = typer.Typer(
    help="Chinese message understanding: train, classify, evaluate.",
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

# Keys of one classify output line (the external contract).
CLASSIFY_KEYS = ("labels", "urgency", "scores", "mandatory_report", "rules", "elements")
# A line longer than this is not read into memory whole (a message is far shorter).
MAX_LINE_BYTES = 1_000_000

BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="spacy (in process), rasa (HTTP) or rules (no classifier, as during the first start)",
    ),
]


def _pipeline(backend: str) -> Any:
    from nlu.pipeline import load_pipeline

    try:
        return load_pipeline(backend=backend)
    except (BackendUnavailable, ImportError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@app.command()
def train(
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="do nothing when the model matches the data")
    ] = False,
) -> None:
    """Build the spaCy model from data/ into the model folder (fixed seed, reproducible)."""
    from nlu.train import model_is_current, train_model

    paths = default_paths()
    if if_missing and model_is_current(paths):
        console.print(f"model is current: {paths.spacy_model}")
        return
    started = time.perf_counter()
    status = TrainingProgress(paths)
    typical = status.status.typical_seconds / 60
    console.print(
        "training the NLU model: two fits side by side, one core each (one chooses the "
        f"thresholds, one becomes the model); usually about {typical:.0f} minutes on a busy "
        "2-core machine, about 3 on a quiet one. Each bar's clock starts at its first epoch, "
        "after the data is loaded."
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} epochs"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)
            status.update(stage, done, total)
            if not console.is_terminal:  # a log file (scripts/run.sh): one line an epoch
                ready = status.status.expected_end().astimezone()
                console.print(f"{stage}: {done}/{total} epochs, model expected at {ready:%H:%M}")

        try:
            result = train_model(paths, report)
        finally:
            clear_status(paths)
    elapsed = time.perf_counter() - started
    console.print(
        f"model written to {result.model_path} ({result.examples} examples, "
        f"{result.validation} held out for thresholds) in {elapsed:.1f} s, loading the data "
        "and writing the model included"
    )
    console.print("thresholds: " + json.dumps(result.thresholds))


def _read_lines(stream: IO[bytes]) -> Any:
    """Raw lines of stdin; an over-long line is yielded as None after skipping it."""
    while True:
        line = stream.readline(MAX_LINE_BYTES)
        if not line:
            return
        if len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(MAX_LINE_BYTES)
            yield None
            continue
        yield line


def _parse(raw: bytes | None) -> tuple[Any, str | None, str | None]:
    """(id, text, error) of one input line."""
    if raw is None:
        return None, None, "line too long"
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, None, "not UTF-8"
    except json.JSONDecodeError:
        return None, None, "invalid JSON"
    if not isinstance(obj, dict):
        return None, None, "not a JSON object"
    ident = obj.get("id")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return ident, None, "no text"
    return ident, text, None


def classify_stream(pipeline: Any, source: IO[bytes], sink: IO[str]) -> int:
    """Classify every line of `source` into `sink`, in order; returns the number of errors."""
    errors = 0
    for raw in _read_lines(source):
        if raw is not None and not raw.strip():
            continue  # blank line: nothing to answer
        ident, text, error = _parse(raw)
        out: dict[str, Any] = {"id": ident}
        if error is None:
            try:
                analysis = pipeline.analyze(text).to_dict()
                out.update({key: analysis[key] for key in CLASSIFY_KEYS})
            except BackendUnavailable:
                error = "backend unavailable"
        if error is not None:
            errors += 1
            out["error"] = error
        sink.write(json.dumps(out, ensure_ascii=False) + "\n")
        sink.flush()
    return errors


@app.command()
def classify(backend: BackendOpt = "spacy") -> None:
    """Read {"id", "text"} JSON lines on stdin, write one analysis line per input line."""
    pipeline = _pipeline(backend)
    classify_stream(pipeline, sys.stdin.buffer, sys.stdout)


def _label_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"per label ({report['n']} lines)")
    for column in ("label", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="right" if column != "label" else "left")
    for label, stats in report["per_label"].items():
        table.add_row(
            label,
            f"{stats['precision']:.3f}",
            f"{stats['recall']:.3f}",
            f"{stats['f1']:.3f}",
            str(stats["support"]),
        )
    return table


def _urgency_table(confusion: dict[str, dict[str, int]]) -> Table:
    table = Table(title="urgency confusion (rows: gold, columns: predicted)")
    table.add_column("gold")
    for urgency in URGENCIES:
        table.add_column(urgency, justify="right")
    for gold in URGENCIES:
        table.add_row(gold, *(str(confusion[gold][pred]) for pred in URGENCIES))
    return table


def _print_report(out: Console, report: dict[str, Any]) -> None:
    out.print(_label_table(report))
    out.print(_urgency_table(report["urgency_confusion"]))
    out.print(f"macro F1: {report['macro_f1']:.4f}")
    out.print(f"recall crisis: {report['recall_crisis']:.4f}")
    out.print(f"recall emergency: {report['recall_emergency']:.4f}")
    out.print(f"false alarms on general lines: {report['general_false_alarm_rate']:.4f}")


def _file_error(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not a UTF-8 text file (JSON lines expected)"
    if isinstance(exc, OSError) and exc.filename:
        return f"cannot read {exc.filename}: {exc.strerror}"
    return str(exc)


@app.command()
def evaluate(
    file: Annotated[
        str,
        typer.Argument(help="JSON lines with text, categories, urgency; 'test' = data/nlu/test"),
    ] = "test",
    false_alarms: Annotated[
        Path | None,
        typer.Option("--false-alarms", help="JSON lines of ordinary text that should stay general"),
    ] = None,
    backend: BackendOpt = "spacy",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Per-label precision/recall/F1, urgency confusion, recall on crisis and emergency,
    false alarms on general lines; with --false-alarms, the share of a file flagged."""
    from nlu.evaluation import evaluate as run_evaluation
    from nlu.evaluation import false_alarms as run_false_alarms
    from nlu.evaluation import iter_texts
    from nlu.training_data import DataError, load_test_examples

    path = default_paths().test_dir if file == "test" else Path(file)
    # Both files are read before the model loads: a bad one is a one-line error (file and
    # line only, never its text) before any work, not a traceback after it.
    try:
        examples = load_test_examples(path)
        texts = None if false_alarms is None else list(iter_texts(false_alarms))
    except (DataError, OSError, UnicodeDecodeError) as exc:
        console.print(f"[red]{_file_error(exc)}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    pipeline = _pipeline(backend)
    result: dict[str, Any] = run_evaluation(pipeline, examples).to_dict()
    result["backend"] = backend
    if texts is not None:
        result["false_alarms"] = run_false_alarms(pipeline, texts).to_dict()
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    out = Console()
    out.print(f"backend: {backend}; file: {path}")
    _print_report(out, result)
    if "false_alarms" in result:
        fa = result["false_alarms"]
        out.print(
            f"false alarms on {false_alarms.name}: {fa['flagged']}/{fa['n']} = {fa['rate']:.4f} "
            f"given a harm label; by label: {json.dumps(fa['per_label'])}"
        )


@app.command("rasa-export")
def rasa_export(
    out: Annotated[Path | None, typer.Option("--out", help="default: var/rasa/project")] = None,
) -> None:
    """Write the Rasa NLU project (config, training data, domain) from data/nlu/."""
    from nlu.rasa_export import export_project

    summary = export_project(out_dir=out)
    console.print(
        f"wrote {summary.examples} examples in {summary.intents} intents to {summary.out_dir}"
    )


if __name__ == "__main__":
    app()
