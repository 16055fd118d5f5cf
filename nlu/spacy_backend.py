"""The in-process spaCy backend: `blank("zh")` with the jieba segmenter and a
`textcat_multilabel` whose model is a bag of word n-grams AND character n-grams
(`helpline.WordCharBOW.v1`), so that segmentation errors, slang and typos do not break it.

One multi-label textcat scores the eight category labels and the four urgency keys
("urgency:emergency" ...), see nlu/backends.py for the score contract."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any, cast

import spacy
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.ml.models.textcat import NEG_VALUE, resize_and_set_ref
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Logistic, Model, SparseLinear_v2, chain, resizable, with_cpu
from thinc.layers.resizable import resize_linear_weighted

from nlu.backends import BackendUnavailable, Scores
from nlu.labels import LABELS, URGENCY_KEYS
from nlu.segment import ensure_jieba

MODEL_LABELS: tuple[str, ...] = (*LABELS, *URGENCY_KEYS)
PIPE_NAME = "textcat_multilabel"
THRESHOLDS_FILE = "thresholds.json"


def _word_char_ngrams(ngram_size: int, char_min: int, char_max: int) -> Model:
    model: Model = Model("extract_word_char_ngrams", _word_char_forward)
    model.attrs.update({"ngram_size": ngram_size, "char_min": char_min, "char_max": char_max})
    return model


def _doc_keys(model: Model, doc: Doc) -> Any:
    ops, xp = model.ops, model.ops.xp
    words = ops.asarray(doc.to_array([ORTH]), dtype="uint64")
    keys = [words] + [ops.ngrams(n, words) for n in range(2, model.attrs["ngram_size"] + 1)]
    # Characters as code points; n-grams of them are hashed by ops.ngrams. Code points are
    # small integers, word ORTH ids are 64-bit hashes, so the two feature sets do not collide.
    chars = xp.asarray([ord(c) for c in doc.text if not c.isspace()], dtype="uint64")
    for n in range(model.attrs["char_min"], model.attrs["char_max"] + 1):
        if n == 1:
            keys.append(chars)
        elif chars.shape[0] >= n:
            keys.append(ops.ngrams(n, chars))
    return xp.concatenate([k for k in keys if k.shape[0]] or [xp.zeros((0,), dtype="uint64")])


def _word_char_forward(model: Model, docs: list[Doc], is_train: bool) -> tuple[Any, Any]:
    xp = model.ops.xp
    batch_keys, batch_vals = [], []
    for doc in docs:
        keys, vals = xp.unique(_doc_keys(model, doc), return_counts=True)
        batch_keys.append(keys)
        batch_vals.append(vals)
    lengths = model.ops.asarray([k.shape[0] for k in batch_keys], dtype="int32")
    keys = xp.concatenate(batch_keys)
    vals = model.ops.asarray(xp.concatenate(batch_vals), dtype="f")

    def backprop(d_output: Any) -> list[Any]:
        return []

    return (keys, vals, lengths), backprop


@registry.architectures("helpline.WordCharBOW.v1")
def build_word_char_bow(
    exclusive_classes: bool,
    ngram_size: int,
    char_ngram_min: int,
    char_ngram_max: int,
    length: int,
    nO: int | None = None,
) -> Model:
    """Sparse linear classifier over hashed word and character n-grams (like spaCy's
    TextCatBOW, plus character n-grams)."""
    length = 2 ** (length - 1).bit_length()
    sparse_linear = SparseLinear_v2(nO=nO, length=length)
    resizable_layer = resizable(
        sparse_linear,
        resize_layer=partial(resize_linear_weighted, fill_defaults={"b": NEG_VALUE, "W": 0}),
    )
    extract = _word_char_ngrams(ngram_size, char_ngram_min, char_ngram_max)
    inner = chain(extract, resizable_layer)
    model = with_cpu(inner, inner.ops)
    output = Logistic()
    model = chain(model, with_cpu(output, output.ops))
    if nO is not None:
        model.set_dim("nO", cast(int, nO))
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = not exclusive_classes
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    return model


def blank_pipeline(model_cfg: dict[str, Any]) -> Language:
    """An untrained pipeline: blank zh + jieba + the multi-label textcat with all labels."""
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    textcat = nlp.add_pipe(
        PIPE_NAME,
        config={
            "threshold": 0.5,
            "model": {
                "@architectures": "helpline.WordCharBOW.v1",
                "exclusive_classes": False,
                "ngram_size": int(model_cfg["ngram_size"]),
                "char_ngram_min": int(model_cfg["char_ngram_min"]),
                "char_ngram_max": int(model_cfg["char_ngram_max"]),
                "length": int(model_cfg["length"]),
            },
        },
    )
    for label in MODEL_LABELS:
        textcat.add_label(label)
    return nlp


class SpacyBackend:
    """The trained spaCy model from a model folder (built by `helpline nlu train`)."""

    name = "spacy"

    def __init__(self, model_path: Path, userdict: Path) -> None:
        if not (model_path / "meta.json").exists():
            raise BackendUnavailable(f"no spaCy model at {model_path}")
        ensure_jieba(userdict)
        self.model_path = model_path
        self.nlp = spacy.load(model_path)
        thresholds_file = model_path / THRESHOLDS_FILE
        self.thresholds: dict[str, float] = (
            json.loads(thresholds_file.read_text(encoding="utf-8"))
            if thresholds_file.exists()
            else {}
        )

    def predict(self, texts: list[str]) -> list[Scores]:
        return [
            {label: float(doc.cats.get(label, 0.0)) for label in MODEL_LABELS}
            for doc in self.nlp.pipe(texts, batch_size=64)
        ]
