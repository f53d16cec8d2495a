"""The served category classifier on held-out real citizen messages, recall per department.

The classifier is the one ``/cases/classify`` serves (``TaxonomyClassifier``: the shipped
department model built by ``make classifier`` times the seed taxonomy's category model).
Held out: the 395 full-text TipDM messages, none of which is in the training corpus
(PROVENANCE.md section 3; 100 more are held back by the maintainers and never seen here).
A message counts as right when the department of the first proposed category is the
department its TipDM class maps to (``classifier_training.TIPDM_CATEGORY``).

Run: .venv/bin/python benchmarks/cases_classifier.py
"""

import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

from shancheng.cases.classifier_training import FULLTEXT_FILE, read_fulltext, tipdm_departments
from shancheng.cases.classify import TaxonomyClassifier
from shancheng.cases.taxonomy import load_taxonomy

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "complaints"


def main() -> int:
    taxonomy = load_taxonomy()
    started = time.perf_counter()
    model, _ = TaxonomyClassifier(taxonomy)()
    load_s = time.perf_counter() - started
    texts, classes = read_fulltext(DATA / FULLTEXT_FILE)
    departments = tipdm_departments(taxonomy)
    truth = [departments[c] for c in classes]
    started = time.perf_counter()
    proposals = model.propose_many(texts, k=3)
    predict_ms = (time.perf_counter() - started) / len(texts) * 1e3
    got = [[taxonomy.category(p.label).department for p in ranked] for ranked in proposals]
    n = Counter(truth)
    top1 = Counter(t for t, g in zip(truth, got, strict=True) if g[0] == t)
    top3 = Counter(t for t, g in zip(truth, got, strict=True) if t in g)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"load + category model {load_s:.1f} s; {len(truth)} held-out messages, "
        f"{predict_ms:.2f} ms each; peak RSS {rss_mb:.0f} MB; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    print("| department (TipDM class) | messages | top-1 recall | top-3 recall |")
    print("|---|---:|---:|---:|")
    for label, department in departments.items():
        k = n[department]
        print(
            f"| {department} ({label}) | {k} | {top1[department] / k:.1%} "
            f"| {top3[department] / k:.1%} |"
        )
    total = len(truth)
    print(
        f"| **all** | {total} | **{sum(top1.values()) / total:.1%}** "
        f"| **{sum(top3.values()) / total:.1%}** |"
    )
    for text in ("幼儿园收费太高", "公司拖欠工资三个月"):
        first = model.propose(text)[0]
        print(
            f"{text} -> {first.label} ({taxonomy.category(first.label).department}, "
            f"{first.confidence:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
