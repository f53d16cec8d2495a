"""Category classifier on real citizen messages (TipDM Cup 2020, task C), accuracy per class.

Train: the jieba-segmented labelled corpus (tokens re-joined, so the model sees characters as
in raw text). Test: the full-text labelled messages, none of which is in the training corpus
(PROVENANCE.md section 3; 100 more are held back by the maintainers and never seen here).
Hyper-parameters come from 3-fold cross-validation on the training corpus only.

Run: .venv/bin/python benchmarks/cases_classifier.py
"""

import resource
import sys
import time
from pathlib import Path

import pandas as pd

from shancheng.cases.classify import per_class_accuracy, train_classifier

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "complaints"


def main() -> int:
    seg = pd.read_csv(DATA / "tipdm2020_messages_labeled_segmented.csv.gz")
    full = pd.read_csv(DATA / "tipdm2020_messages_labeled_fulltext.csv")
    train_texts = seg["tokens"].astype(str).str.replace(" ", "", regex=False).tolist()
    started = time.perf_counter()
    model = train_classifier(train_texts, seg["label"].tolist())
    fit_s = time.perf_counter() - started
    texts = (full["留言主题"].astype(str) + " " + full["留言详情"].astype(str)).tolist()
    truth = full["一级分类"].tolist()
    started = time.perf_counter()
    proposals = model.propose_many(texts)
    predict_ms = (time.perf_counter() - started) / len(texts) * 1e3
    table = per_class_accuracy(truth, proposals)
    top1 = sum(p[0].label == t for p, t in zip(proposals, truth, strict=True)) / len(truth)
    top3 = sum(t in [q.label for q in p] for p, t in zip(proposals, truth, strict=True)) / len(
        truth)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"train {len(train_texts)} segmented messages in {fit_s:.1f} s; "
          f"test {len(truth)} full-text messages, {predict_ms:.2f} ms each; peak RSS {rss_mb:.0f} MB")
    print("| class (一级分类) | messages | top-1 accuracy | top-3 accuracy |")
    print("|---|---:|---:|---:|")
    for label, (n, a1, a3) in table.items():
        print(f"| {label} | {n} | {a1:.1%} | {a3:.1%} |")
    print(f"| **all** | {len(truth)} | **{top1:.1%}** | **{top3:.1%}** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
