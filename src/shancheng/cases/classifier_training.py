"""Build the shipped department model from real citizen messages (``make classifier``).

Training data: the TipDM Cup 2020 labelled citizen messages (``../shared/data/complaints``,
PROVENANCE.md section 3), whose seven first-level classes map onto the taxonomy's 民生诉求
categories (major class 07) and so onto departments; the organiser's own 3-level taxonomy of
those classes (second- and third-level names such as 教育收费 › 乱收费, which teach the model
the short phrases a real message is often no longer than); and the seed taxonomy's own names
and keywords, each under its category's department, or under ``_other`` when no real message
names that department (street lights, manholes...). The split is fixed by the data: the
6,866 jieba-segmented messages train (tokens re-joined, so the model reads characters as in
raw text); the 395 full-text messages, none of which is in the training corpus, are held out
for evaluation only. Settings (character 1-2-grams, 20,000 n-grams, C = 10) were chosen by
3-fold cross-validation on the training corpus (``benchmarks/RESULTS.md``).

Run: ``python -m shancheng.cases.classifier_training --data ../shared/data/complaints``.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from shancheng.cases.classify import (
    MODEL_RESOURCE,
    OTHER_GROUP,
    department_group,
    normalise_text,
    taxonomy_examples,
    train_classifier,
)
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.cases.text_model import LinearTextModel
from shancheng.errors import InputError, MissingColumnError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shancheng.cases.taxonomy import Taxonomy

TIPDM_CATEGORY = {
    "城乡建设": "E0701",
    "环境保护": "E0702",
    "交通运输": "E0703",
    "教育文体": "E0704",
    "劳动和社会保障": "E0705",
    "卫生计生": "E0706",
    "商贸旅游": "E0707",
}
"""TipDM first-level class (一级分类) → the taxonomy category that receives its messages."""
SEGMENTED_FILE = "tipdm2020_messages_labeled_segmented.csv.gz"
FULLTEXT_FILE = "tipdm2020_messages_labeled_fulltext.csv"
TAXONOMY_FILE = "tipdm2020_taxonomy_3level.csv"
NGRAM_RANGE = (1, 2)
MAX_FEATURES = 20_000
C = 10.0
logger = logging.getLogger(__name__)


def read_segmented(path: Path) -> tuple[list[str], list[str]]:
    """Return the training texts (tokens re-joined) and their TipDM classes.

    Raises
    ------
    InputError
        A missing column, an empty text or an unknown class, naming the file and row.
    """
    frame = _read(path, ("tokens", "label"))
    texts = frame["tokens"].fillna("").astype(str).str.replace(" ", "", regex=False).tolist()
    return _checked(path, texts, frame["label"].astype(str).tolist())


def read_fulltext(path: Path) -> tuple[list[str], list[str]]:
    """Return the held-out texts (subject + body, as a citizen wrote them) and their classes."""
    frame = _read(path, ("留言主题", "留言详情", "一级分类"))
    texts = (
        frame["留言主题"].fillna("").astype(str) + " " + frame["留言详情"].fillna("").astype(str)
    )
    return _checked(path, texts.tolist(), frame["一级分类"].astype(str).tolist())


def read_tipdm_taxonomy(path: Path) -> tuple[list[str], list[str]]:
    """Return short training phrases from the organiser's 3-level taxonomy, with their class.

    For each row of one of the seven classes: the second-level name followed by the
    third-level one, and the third-level name alone; "其他" (other) teaches nothing and is
    left out. Rows of the organiser's classes that no message carries are skipped.
    """
    frame = _read(path, ("一级分类", "二级分类", "三级分类"))
    texts: list[str] = []
    labels: list[str] = []
    for first, second, third in frame[["一级分类", "二级分类", "三级分类"]].itertuples(index=False):
        if first not in TIPDM_CATEGORY:
            continue
        names = [n for n in (str(second).strip(), str(third).strip()) if n and n != "其他"]
        phrases = {"".join(names), *names[1:]} - {""}
        texts.extend(sorted(phrases))
        labels.extend([first] * len(phrases))
    return texts, labels


def tipdm_departments(taxonomy: Taxonomy) -> dict[str, str]:
    """Return TipDM class → department code, through :data:`TIPDM_CATEGORY` and ``taxonomy``."""
    return {label: taxonomy.category(code).department for label, code in TIPDM_CATEGORY.items()}


def department_training_set(
    texts: Sequence[str], tipdm_labels: Sequence[str], taxonomy: Taxonomy
) -> tuple[list[str], list[str]]:
    """Return real messages under their departments plus the taxonomy's names under theirs."""
    departments = tipdm_departments(taxonomy)
    groups = sorted(set(departments.values()))
    template_texts, codes = taxonomy_examples(taxonomy)
    template_labels = [
        department_group(taxonomy.category(code).department, groups) for code in codes
    ]
    return (
        list(texts) + template_texts,
        [departments[label] for label in tipdm_labels] + template_labels,
    )


def build_department_model(data: Path, taxonomy: Taxonomy) -> LinearTextModel:
    """Train the department model on the TipDM training corpus in folder ``data``."""
    segmented = data / SEGMENTED_FILE
    messages, message_labels = read_segmented(segmented)
    phrases, phrase_labels = read_tipdm_taxonomy(data / TAXONOMY_FILE)
    texts, labels = messages + phrases, message_labels + phrase_labels
    train_texts, train_labels = department_training_set(texts, labels, taxonomy)
    logger.info(
        "training on %d real messages, %d phrases of their taxonomy and %d sentences of ours",
        len(messages),
        len(phrases),
        len(train_texts) - len(texts),
    )
    fitted = train_classifier(
        train_texts, train_labels, ngram_range=NGRAM_RANGE, c=C, max_features=MAX_FEATURES
    )
    meta = {
        "trained_on": {
            "file": SEGMENTED_FILE,
            "sha256": hashlib.sha256(segmented.read_bytes()).hexdigest(),
            "messages": len(messages),
            "tipdm_taxonomy_phrases": len(phrases),
            "taxonomy_sentences": len(train_texts) - len(texts),
        },
        "held_out": FULLTEXT_FILE,
        "tipdm_category": TIPDM_CATEGORY,
        "max_features": MAX_FEATURES,
        "c": C,
    }
    if OTHER_GROUP not in fitted.labels:
        msg = "the taxonomy gave no sentence for the other departments: cannot build the model"
        raise InputError(msg)
    return LinearTextModel.from_pipeline(fitted.pipeline, meta=meta)


def default_output() -> Path:
    """Return where the shipped model lives in a source checkout."""
    return Path(str(resources.files("shancheng.cases"))) / MODEL_RESOURCE


def main(argv: Sequence[str] | None = None) -> int:
    """Build the model and write it (``make classifier``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of the TipDM files")
    parser.add_argument("--out", type=Path, default=None, help="model file (.npz)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = args.out or default_output()
    try:
        model = build_department_model(args.data, load_taxonomy())
    except InputError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - one line for the user, no traceback
        return 1
    model.save(out)
    logger.info(
        "wrote %s (%.0f KB): %d n-grams, classes %s",
        out,
        out.stat().st_size / 1024,
        len(model.vocabulary),
        ", ".join(model.classes),
    )
    return 0


def _read(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    if not path.is_file():
        msg = f"{path}: no such file (the TipDM messages, see ../shared/data/PROVENANCE.md §3)"
        raise InputError(msg)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{path}: column(s) {missing} missing; found {list(frame.columns)}"
        raise MissingColumnError(msg)
    return frame


def _checked(path: Path, texts: list[str], labels: list[str]) -> tuple[list[str], list[str]]:
    for row, (text, label) in enumerate(zip(texts, labels, strict=True), start=2):
        if label not in TIPDM_CATEGORY:
            msg = f"{path}, line {row}: class {label!r} is not one of {sorted(TIPDM_CATEGORY)}"
            raise InputError(msg)
        if not normalise_text(text):
            msg = f"{path}, line {row}: empty message text"
            raise InputError(msg)
    return texts, labels


if __name__ == "__main__":
    sys.exit(main())
