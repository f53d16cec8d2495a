"""Near-duplicate ideas: character n-gram TF-IDF similarity of the texts, and distance.

Chinese has no spaces between words, so words are not what is compared: the text is cut into
character bigrams for Chinese (and other CJK) runs and into character trigrams of each word for
Latin runs (lower-cased, so "Bus stop" and "bus stops" share most of theirs). Each idea is a
TF-IDF vector over those grams (idf smoothed over the ideas compared), and two ideas are as
similar as the cosine of their vectors. When both have a place, the score is multiplied by a
distance factor that is 1 up to ``near_m`` and falls linearly to 0 at ``far_m``: the same
words about two far-apart places are two ideas.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[0-9a-z]+")


def grams(text: str) -> Counter[str]:
    """Return the character n-grams of ``text``: CJK bigrams, Latin word trigrams.

    Examples
    --------
    >>> sorted(grams("加装电梯"))
    ['加装', '电梯', '装电']
    >>> sorted(grams("Bus stop"))
    [' bu', ' st', 'bus', 'op ', 'sto', 'top', 'us ']
    """
    out: Counter[str] = Counter()
    lowered = text.lower()
    for run in _CJK.findall(lowered):
        if len(run) == 1:
            out[run] += 1
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    for word in _WORD.findall(lowered):
        padded = f" {word} "
        out.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """A text to compare with, and its place (WGS84; ``None`` when it has none)."""

    key: int
    text: str
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """A near duplicate found: its key, the text similarity, the distance and the score."""

    key: int
    text_similarity: float
    distance_m: float | None
    score: float


def _vector(counts: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vec = {g: (1.0 + math.log(n)) * idf[g] for g, n in counts.items()}
    norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
    return {g: v / norm for g, v in vec.items()}


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Return the great-circle distance in metres between two WGS84 points."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(h)))


def distance_factor(distance_m: float | None, *, near_m: float, far_m: float) -> float:
    """Return 1 up to ``near_m``, falling linearly to 0 at ``far_m`` (1 without a distance)."""
    if distance_m is None or distance_m <= near_m:
        return 1.0
    if distance_m >= far_m:
        return 0.0
    return (far_m - distance_m) / (far_m - near_m)


def similar(
    text: str,
    candidates: Sequence[Candidate],
    *,
    lon: float | None = None,
    lat: float | None = None,
    min_score: float = 0.3,
    near_m: float = 300.0,
    far_m: float = 2_000.0,
    limit: int = 5,
) -> list[Match]:
    """Return the candidates most like ``text`` (and near its place), best first.

    Parameters
    ----------
    text
        The new idea's title and body.
    candidates
        The ideas to compare with (the idf is computed over them and ``text``).
    lon, lat
        The new idea's place, if any.
    min_score
        Matches scoring below this are left out.
    near_m, far_m
        The distance factor's full and zero points (metres).

    Examples
    --------
    >>> found = similar("小区加装电梯", [Candidate(1, "老旧小区加装电梯"), Candidate(2, "修路")])
    >>> [m.key for m in found]
    [1]
    """
    docs = [grams(text), *(grams(c.text) for c in candidates)]
    n_docs = len(docs)
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    idf = {g: math.log((1 + n_docs) / (1 + n)) + 1.0 for g, n in df.items()}
    query = _vector(docs[0], idf)
    matches = []
    for candidate, doc in zip(candidates, docs[1:], strict=True):
        vec = _vector(doc, idf)
        sim = sum(w * vec.get(g, 0.0) for g, w in query.items())
        dist = None
        if None not in (lon, lat, candidate.lon, candidate.lat):
            dist = haversine_m(lon, lat, candidate.lon, candidate.lat)  # type: ignore[arg-type]
        score = sim * distance_factor(dist, near_m=near_m, far_m=far_m)
        if score >= min_score:
            matches.append(Match(candidate.key, round(sim, 4), dist, round(score, 4)))
    matches.sort(key=lambda m: (-m.score, m.key))
    return matches[:limit]
