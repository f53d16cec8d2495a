"""A fitted TF-IDF + multinomial logistic model kept as plain arrays, to ship inside the package.

The department model that learns from real citizen messages is trained once, by
``make classifier`` (:mod:`shancheng.cases.classifier_training`), on data that does not ship
with shancheng. What ships is the model itself: its n-gram vocabulary, inverse document
frequencies, weights and intercepts, in a compressed ``.npz`` read without pickle (a pickle
would run code on load and break across scikit-learn versions). :meth:`LinearTextModel.
predict_proba` repeats exactly what the scikit-learn pipeline did (counts of character
n-grams within word boundaries, sublinear tf, idf, L2 norm, softmax), so the shipped model
answers as the trained one did, to float32 rounding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from sklearn.pipeline import Pipeline

FORMAT = "shancheng-linear-text-model"
FORMAT_VERSION = 1
_ARRAYS = ("vocabulary", "idf", "coef", "intercept", "classes", "meta")


@dataclass(frozen=True, eq=False)
class LinearTextModel:
    """TF-IDF character n-grams and a softmax layer, as arrays.

    Attributes
    ----------
    vocabulary
        The n-grams, in feature order.
    idf
        Inverse document frequency of each n-gram (float32).
    coef, intercept
        Weights, shape (classes, n-grams), and intercepts, shape (classes,) (float32).
    classes
        Label of each row of ``coef``.
    ngram_range
        Character n-gram lengths (analyzer ``char_wb``).
    meta
        What the model was trained on and how it scored (JSON-ready).
    """

    vocabulary: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    classes: tuple[str, ...]
    ngram_range: tuple[int, int]
    meta: dict[str, Any]

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline, *, meta: dict[str, Any]) -> LinearTextModel:
        """Take the arrays of a fitted ``TfidfVectorizer`` + ``LogisticRegression`` pipeline."""
        tfidf = pipeline.named_steps["tfidf"]
        model = pipeline.named_steps["model"]
        if not isinstance(tfidf, TfidfVectorizer) or not isinstance(model, LogisticRegression):
            msg = "the pipeline must be a fitted TfidfVectorizer ('tfidf') + LogisticRegression"
            raise InputError(msg)
        if len(model.classes_) < 3:  # noqa: PLR2004 - binary LR has one row of weights
            msg = f"the model needs at least three classes, got {list(model.classes_)}"
            raise InputError(msg)
        if not tfidf.sublinear_tf or tfidf.analyzer != "char_wb" or tfidf.norm != "l2":
            msg = "the vectorizer must use analyzer='char_wb', sublinear_tf=True, norm='l2'"
            raise InputError(msg)
        vocabulary = tfidf.get_feature_names_out()
        return cls(
            vocabulary=tuple(str(v) for v in vocabulary),
            idf=np.asarray(tfidf.idf_, dtype=np.float32),
            coef=np.asarray(model.coef_, dtype=np.float32),
            intercept=np.asarray(model.intercept_, dtype=np.float32),
            classes=tuple(str(c) for c in model.classes_),
            ngram_range=(int(tfidf.ngram_range[0]), int(tfidf.ngram_range[1])),
            meta=meta,
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return class probabilities, shape (texts, classes), for already normalised texts."""
        counter = CountVectorizer(
            analyzer="char_wb",
            ngram_range=self.ngram_range,
            vocabulary={gram: i for i, gram in enumerate(self.vocabulary)},
            lowercase=True,
        )
        counts = counter.transform(list(texts)).astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        weighted = normalize(counts.multiply(self.idf.astype(np.float64)).tocsr())
        scores = weighted @ self.coef.T.astype(np.float64) + self.intercept.astype(np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def save(self, path: Path) -> None:
        """Write the model as a compressed ``.npz`` of plain arrays (no pickled objects)."""
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "ngram_range": list(self.ngram_range),
            **self.meta,
        }
        np.savez_compressed(
            path,
            vocabulary=np.array(self.vocabulary, dtype=np.str_),
            idf=self.idf,
            coef=self.coef,
            intercept=self.intercept,
            classes=np.array(self.classes, dtype=np.str_),
            meta=np.array(json.dumps(meta, ensure_ascii=False, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: Path) -> LinearTextModel:
        """Read a model written by :meth:`save`; a damaged or foreign file is refused by name."""
        try:
            with np.load(path, allow_pickle=False) as arrays:
                missing = [name for name in _ARRAYS if name not in arrays.files]
                if missing:
                    msg = f"{path}: not a shancheng text model, arrays {missing} are missing"
                    raise InputError(msg)
                data = {name: arrays[name] for name in _ARRAYS}
        except (OSError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise
            msg = f"{path}: cannot read the text model ({exc}); rebuild it with `make classifier`"
            raise InputError(msg) from exc
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
            msg = (
                f"{path}: format {meta.get('format')!r} version {meta.get('version')!r}, "
                f"expected {FORMAT!r} version {FORMAT_VERSION}; rebuild it with `make classifier`"
            )
            raise InputError(msg)
        n_classes, n_grams = len(data["classes"]), len(data["vocabulary"])
        if data["coef"].shape != (n_classes, n_grams) or data["idf"].shape != (n_grams,):
            msg = (
                f"{path}: weights of shape {data['coef'].shape} do not fit {n_classes} classes "
                f"and {n_grams} n-grams"
            )
            raise InputError(msg)
        low, high = meta.pop("ngram_range")
        for key in ("format", "version"):
            meta.pop(key)
        return cls(
            vocabulary=tuple(str(v) for v in data["vocabulary"]),
            idf=data["idf"],
            coef=data["coef"],
            intercept=data["intercept"],
            classes=tuple(str(c) for c in data["classes"]),
            ngram_range=(int(low), int(high)),
            meta=meta,
        )
