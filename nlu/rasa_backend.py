"""The Rasa backend: scores from a Rasa 3.6 server's HTTP parse API.

The server runs in its own Python 3.10 environment (scripts/rasa/); this module only
speaks HTTP to it. The model is exported by `nlu.rasa_export`, whose intent names carry the
labels and the urgency ("bullying+crisis+urgency_high"). DIET gives a softmax over the
intents; the score of a label (or an urgency) is the sum of the confidences of every intent
that contains it, so confusions between intents that share a label do not hide it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from nlu.backends import BackendUnavailable, Scores
from nlu.labels import LABELS, URGENCY_PREFIX
from nlu.rasa_export import parse_intent_name

DEFAULT_PORT = 5005
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 4


def default_url() -> str:
    """HELPLINE_RASA_URL, else the loopback server of scripts/rasa/serve.sh."""
    url = os.environ.get("HELPLINE_RASA_URL")
    if url:
        return url.rstrip("/")
    port = os.environ.get("HELPLINE_RASA_PORT", str(DEFAULT_PORT))
    return f"http://127.0.0.1:{port}"


def scores_from_ranking(ranking: Iterable[dict[str, Any]]) -> Scores:
    """Per-label and per-urgency scores from a Rasa intent_ranking.

    Raises ValueError on an intent name that is not ours (a model of another project).
    """
    scores: Scores = dict.fromkeys(LABELS, 0.0)
    urgency: Scores = {}
    for entry in ranking:
        confidence = float(entry.get("confidence") or 0.0)
        labels, level = parse_intent_name(str(entry.get("name")))
        for label in labels:
            scores[label] += confidence
        if level is not None:
            key = URGENCY_PREFIX + level
            urgency[key] = urgency.get(key, 0.0) + confidence
    scores.update(urgency)
    # Float sums of a softmax can overshoot 1.0 by a rounding error.
    return {key: min(1.0, max(0.0, value)) for key, value in scores.items()}


class RasaBackend:
    """Backend protocol (`nlu.backends.Backend`) over POST {url}/model/parse."""

    name = "rasa"

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        concurrency: int = DEFAULT_CONCURRENCY,
        token: str | None = None,
    ) -> None:
        self.url = (url or default_url()).rstrip("/")
        self.concurrency = max(1, concurrency)
        params = {"token": token} if token else None
        self._client = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=self.concurrency),
            params=params,
        )

    def __enter__(self) -> RasaBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        # Errors name the server and the failure, never the message text.
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(f"Rasa server at {self.url} timed out on {path}") from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(
                f"Rasa server at {self.url} is not reachable ({type(exc).__name__}); "
                "start it with scripts/rasa/serve.sh"
            ) from exc
        if response.status_code != httpx.codes.OK:
            raise BackendUnavailable(
                f"Rasa server at {self.url} answered HTTP {response.status_code} on {path}"
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise BackendUnavailable(f"Rasa server at {self.url} sent invalid JSON") from exc
        if not isinstance(body, dict):
            raise BackendUnavailable(f"Rasa server at {self.url} sent an unexpected answer")
        return body

    def status(self) -> dict[str, Any]:
        """The server's /status (model file and id); raises BackendUnavailable when down."""
        return self._request("GET", "/status")

    def parse(self, text: str) -> dict[str, Any]:
        """The raw /model/parse answer for one text."""
        return self._request("POST", "/model/parse", json={"text": text})

    def _predict_one(self, text: str) -> Scores:
        ranking = self.parse(text).get("intent_ranking") or []
        try:
            return scores_from_ranking(ranking)
        except ValueError as exc:
            raise BackendUnavailable(
                f"Rasa server at {self.url} serves a model with foreign intents ({exc}); "
                "retrain it with scripts/rasa/train.sh"
            ) from exc

    def predict(self, texts: list[str]) -> list[Scores]:
        """Scores for every text, in order; up to `concurrency` requests at a time."""
        if len(texts) <= 1 or self.concurrency == 1:
            return [self._predict_one(text) for text in texts]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(texts))) as pool:
            return list(pool.map(self._predict_one, texts))
