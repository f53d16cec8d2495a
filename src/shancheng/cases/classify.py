"""Propose a category for a report from its free text (Chinese or English): top 3 with confidence.

Linear models on TF-IDF character n-grams (scikit-learn): character grams need no word
segmentation, so Chinese and English go through the same pipeline, and they survive typos.
The operator confirms; the model only ranks. :func:`train_classifier` fits on any labelled
texts; :func:`taxonomy_examples` makes training sentences for the taxonomy's categories from
their names and keywords.

What the server serves (:class:`TaxonomyClassifier`) is a :class:`CombinedClassifier`: a
department model trained on thousands of real citizen messages (shipped with the package,
built by ``make classifier``) decides which department a text is for, and a category model
trained on the taxonomy in force picks the category within that department. An edited
taxonomy retrains the category model only, in the background.
"""

from __future__ import annotations

import itertools
import threading
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from shancheng.cases.text_model import LinearTextModel
from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from shancheng.cases.taxonomy import Taxonomy

_TEMPLATES_ZH = (
    "{kw}",
    "{kw}，请处理",
    "这里{kw}很久了",
    "小区门口{kw}",
    "路边{kw}没人管",
    "{name}问题",
    "反映{kw}",
)
_TEMPLATES_EN = (
    "{kw}",
    "{kw} here, please fix",
    "there is {kw} near my home",
    "report: {name}",
    "{kw} on the street again",
)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One proposed category and the model's probability for it."""

    label: str
    confidence: float


def normalise_text(text: str) -> str:
    """Fold width (NFKC) and case and squeeze spaces, so full-width and ASCII read alike.

    Examples
    --------
    >>> normalise_text("  路灯  不亮 ABC ")
    '路灯 不亮 abc'
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True, eq=False)
class TextClassifier:
    """A fitted model; :meth:`propose` ranks the labels for a text."""

    pipeline: Pipeline
    labels: tuple[str, ...]

    def propose(self, text: str, *, k: int = 3) -> list[Proposal]:
        """Return the ``k`` most likely labels for ``text`` with their probabilities."""
        return self.propose_many([text], k=k)[0]

    def propose_many(self, texts: Sequence[str], *, k: int = 3) -> list[list[Proposal]]:
        """Return the top ``k`` proposals for each text."""
        probabilities = self.pipeline.predict_proba([normalise_text(t) for t in texts])
        classes = self.pipeline.classes_
        top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [
            [Proposal(str(classes[j]), float(row[j])) for j in order]
            for row, order in zip(probabilities, top, strict=True)
        ]


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    ngram_range: tuple[int, int] = (1, 2),
    c: float = 10.0,
    max_features: int | None = 100_000,
) -> TextClassifier:
    """Fit TF-IDF character n-grams + multinomial logistic regression.

    Parameters
    ----------
    texts, labels
        Training examples, one label per text; at least two labels.
    ngram_range
        Character n-gram lengths (within word boundaries).
    c
        Inverse regularisation strength of the logistic regression. The defaults (1-2 grams,
        C = 10) won a 3-fold cross-validation on the TipDM training corpus (see
        ``benchmarks/RESULTS.md``), never on the evaluation messages.
    max_features
        Vocabulary cap: the most frequent n-grams, ties broken by the n-gram itself (chosen
        here, not by scikit-learn's unstable sort, whose tie order changes with the numpy
        build and the CPU, so that a rebuild gives the shipped model on any machine).

    Raises
    ------
    InputError
        Lengths differ, empty texts, or fewer than two labels.
    """
    if len(texts) != len(labels):
        msg = f"texts and labels differ in length: {len(texts)} texts, {len(labels)} labels"
        raise InputError(msg)
    distinct = sorted(set(labels))
    if len(distinct) < 2:  # noqa: PLR2004
        msg = f"training needs at least two labels, got {distinct}"
        raise InputError(msg)
    empty = [i for i, t in enumerate(texts) if not str(t).strip()]
    if empty:
        msg = f"training text {empty[0]} is empty"
        raise InputError(msg)
    normalised = [normalise_text(t) for t in texts]
    pipeline = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=ngram_range,
                    sublinear_tf=True,
                    vocabulary=most_frequent_ngrams(normalised, ngram_range, max_features),
                ),
            ),
            ("model", LogisticRegression(C=c, max_iter=2000)),
        ]
    )
    pipeline.fit(normalised, list(labels))
    return TextClassifier(pipeline, tuple(distinct))


def most_frequent_ngrams(
    texts: Sequence[str], ngram_range: tuple[int, int], limit: int | None
) -> list[str] | None:
    """Return the ``limit`` most frequent character n-grams, sorted; ``None``: no limit.

    Frequency is the count over all texts (scikit-learn's ``max_features`` rule); among
    n-grams of equal count the one that sorts first is taken, so the choice is the same on
    every machine.

    Examples
    --------
    >>> most_frequent_ngrams(["ab", "ba", "b"], (1, 1), 2)  # " ab ", " ba ", " b "
    [' ', 'b']
    >>> most_frequent_ngrams(["ab", "ab"], (1, 1), 2)  # a and b tie: a sorts first
    [' ', 'a']
    """
    if limit is None:
        return None
    counter = CountVectorizer(analyzer="char_wb", ngram_range=ngram_range)
    counts = counter.fit_transform(texts)
    names = counter.get_feature_names_out()  # sorted
    totals = np.asarray(counts.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(len(names)), -totals))  # by count, then by name
    return sorted(str(names[i]) for i in order[:limit])


def taxonomy_examples(taxonomy: Taxonomy) -> tuple[list[str], list[str]]:
    """Return templated Chinese and English training sentences for every category.

    Built from each category's names and keywords (``taxonomy_seed.json``): a starting point
    until the center has confirmed cases to learn from. Retired categories are left out.
    """
    texts: list[str] = []
    labels: list[str] = []
    for category in taxonomy.categories.values():
        if not category.active:
            continue
        zh_words = [w for w in category.keywords if not w.isascii()] + [category.name_zh]
        en_words = [w for w in category.keywords if w.isascii()] + [category.name_en]
        pairs = itertools.chain(
            ((t, w, category.name_zh) for t in _TEMPLATES_ZH for w in zh_words),
            ((t, w, category.name_en) for t in _TEMPLATES_EN for w in en_words),
        )
        for template, word, name in pairs:
            texts.append(template.format(kw=word, name=name))
            labels.append(category.code)
    return texts, labels


def per_class_accuracy(
    truth: Sequence[str], proposals: Sequence[Sequence[Proposal]]
) -> dict[str, tuple[int, float, float]]:
    """Return, per true label: count, top-1 accuracy (recall) and top-3 accuracy.

    Examples
    --------
    >>> p = [[Proposal("a", .9), Proposal("b", .1)], [Proposal("a", .6), Proposal("b", .4)]]
    >>> per_class_accuracy(["a", "b"], p)
    {'a': (1, 1.0, 1.0), 'b': (1, 0.0, 1.0)}
    """
    out: dict[str, tuple[int, float, float]] = {}
    for label in sorted(set(truth)):
        rows = [i for i, t in enumerate(truth) if t == label]
        top1 = sum(proposals[i][0].label == label for i in rows)
        top3 = sum(label in [p.label for p in proposals[i][:3]] for i in rows)
        out[label] = (len(rows), top1 / len(rows), top3 / len(rows))
    return out


OTHER_GROUP = "_other"
"""Class of the department model for every category whose department no real message names."""
MODEL_RESOURCE = "department_model.npz"
"""The shipped department model, inside the ``shancheng.cases`` package (``make classifier``)."""


def load_department_model(path: Path | None = None) -> LinearTextModel:
    """Read the department model trained on real citizen messages (the shipped one by default)."""
    if path is not None:
        return LinearTextModel.load(path)
    with resources.as_file(resources.files("shancheng.cases") / MODEL_RESOURCE) as shipped:
        if not shipped.is_file():
            msg = f"{shipped}: the shipped classifier model is missing; run `make classifier`"
            raise InputError(msg)
        return LinearTextModel.load(shipped)


def department_group(department: str, groups: Sequence[str]) -> str:
    """Return the department model's class for a category's department.

    Examples
    --------
    >>> department_group("education", ["education", "health", "_other"])
    'education'
    >>> department_group("street_lighting", ["education", "health", "_other"])
    '_other'
    """
    return department if department in groups else OTHER_GROUP


@dataclass(frozen=True, eq=False)
class CombinedClassifier:
    """The served classifier: real-message department model times the taxonomy's category model.

    ``P(category | text) = P(group | text) · P(category | text, group)``: the department model,
    trained on real citizen messages (and the seed taxonomy's names), says which department
    (or "one of the others") a text is for; the category model, trained on the taxonomy in
    force, shares that probability among the active categories of the group. Editing the
    taxonomy retrains only the small category model; a category follows its department's
    group, so a renamed or new category of the education department gets the education
    share the real messages taught.
    """

    departments: LinearTextModel
    categories: TextClassifier
    group_of: dict[str, str]

    @property
    def labels(self) -> tuple[str, ...]:
        """The category codes the classifier can propose."""
        return self.categories.labels

    def propose(self, text: str, *, k: int = 3) -> list[Proposal]:
        """Return the ``k`` most likely categories for ``text`` with their probabilities."""
        return self.propose_many([text], k=k)[0]

    def propose_many(self, texts: Sequence[str], *, k: int = 3) -> list[list[Proposal]]:
        """Return the top ``k`` categories for each text."""
        probabilities = self.probabilities([normalise_text(t) for t in texts])
        classes = self.categories.pipeline.classes_
        top = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [
            [Proposal(str(classes[j]), float(row[j])) for j in order]
            for row, order in zip(probabilities, top, strict=True)
        ]

    def probabilities(self, normalised: Sequence[str]) -> np.ndarray:
        """Return P(category | text), columns in the category model's class order."""
        p_group = self.departments.predict_proba(normalised)
        p_within = self.categories.pipeline.predict_proba(list(normalised))
        group_index = {g: i for i, g in enumerate(self.departments.classes)}
        column_group = np.array(
            [group_index[self.group_of[str(c)]] for c in self.categories.pipeline.classes_]
        )
        one_hot = np.zeros((len(column_group), len(group_index)))
        one_hot[np.arange(len(column_group)), column_group] = 1.0
        group_sums = p_within @ one_hot
        return np.asarray(p_within / group_sums[:, column_group] * p_group[:, column_group])


def combine(departments: LinearTextModel, taxonomy: Taxonomy) -> CombinedClassifier:
    """Train the category model on ``taxonomy``'s names and join it to the department model."""
    if OTHER_GROUP not in departments.classes:
        msg = f"the department model has no {OTHER_GROUP!r} class: rebuild it (make classifier)"
        raise InputError(msg)
    categories = train_classifier(*taxonomy_examples(taxonomy))
    group_of = {
        code: department_group(taxonomy.category(code).department, departments.classes)
        for code in categories.labels
    }
    return CombinedClassifier(departments, categories, group_of)


class TaxonomyClassifier:
    """The text classifier of a center's taxonomy: trained on first use, kept up to date.

    Call it with the taxonomy in force (admins add, rename and retire categories at run
    time): the first call loads the shipped department model and trains the category model
    on the taxonomy (a second or two); a later call with a taxonomy whose active categories,
    names, keywords or departments differ starts a retraining in a background thread and
    answers with the current model until the new one is ready. Callers filter the proposals
    by the taxonomy they hold, so a model a step behind proposes nothing stale.
    """

    def __init__(self, taxonomy: Taxonomy, *, model_path: Path | None = None) -> None:
        """Start with ``taxonomy`` (used when called without one); train nothing yet.

        ``model_path`` replaces the shipped department model (tests, a city's own model).
        """
        self._default = taxonomy
        self._model_path = model_path
        self._departments: LinearTextModel | None = None
        self._lock = threading.Lock()
        self._model: CombinedClassifier | None = None
        self._key: tuple[object, ...] = ()
        self._retraining: threading.Thread | None = None

    def __call__(self, taxonomy: Taxonomy | None = None) -> tuple[CombinedClassifier, Taxonomy]:
        """Return the model and the taxonomy its proposals are to be read with."""
        wanted = self._default if taxonomy is None else taxonomy
        key = _training_key(wanted)
        with self._lock:
            if self._model is None:
                self._departments = load_department_model(self._model_path)
                self._model, self._key = combine(self._departments, wanted), key
            elif key != self._key and not (self._retraining and self._retraining.is_alive()):
                self._retraining = threading.Thread(
                    target=self._retrain, args=(wanted, key), name="classifier-retrain", daemon=True
                )
                self._retraining.start()
            return self._model, wanted

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for a retraining under way to finish (tests, orderly shutdown)."""
        thread = self._retraining
        if thread is not None:
            thread.join(timeout_s)

    def _retrain(self, taxonomy: Taxonomy, key: tuple[object, ...]) -> None:
        departments = self._departments
        if departments is None:  # pragma: no cover - a retraining follows the first training
            return
        model = combine(departments, taxonomy)
        with self._lock:
            self._model, self._key = model, key


def _training_key(taxonomy: Taxonomy) -> tuple[object, ...]:
    """Return what training depends on: active categories' codes, names, keywords, departments."""
    return tuple(
        (c.code, c.name_zh, c.name_en, c.keywords, c.department)
        for c in taxonomy.categories.values()
        if c.active
    )
