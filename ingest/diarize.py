"""Who said each word of a mono recording: voice prints clustered into speakers.

A mono call is transcribed as one stream (``ingest.stream_batch``); its words keep their
timings. Voice prints (``ingest.voices``) are taken every second inside each stretch of
speech (Silero VAD regions), the prints of the whole call are clustered, and each word takes
the speaker of the prints heard around it. A cluster solution is kept only when the voices are
told apart, by two tests measured on mono mixes (docs/benchmarks.md): the clusters separate
(silhouette), and they follow the speech (the prints of one stretch of speech fall in one
cluster: two voices take turns, while an arbitrary split of one voice cuts through its
sentences). A call that fails either is ``uncertain`` and keeps its single speaker rather than
a guessed split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.core.config import WhisperSettings
from app.core.text import normalize
from ingest.roles import Run, name_voices
from ingest.stream_batch import Piece, Word
from ingest.voices import VoiceFrames


@dataclass(frozen=True)
class Diarized:
    """Speakers found in a call: ``speaker_of[i]`` is the cluster (0..n-1) of word i;
    ``separation`` the silhouette of the clustering (cosine, -1..1); ``uncertain`` when the
    clusters were not separable and the words were left as one speaker (all 0)."""

    speaker_of: list[int]
    speakers: int
    separation: float
    uncertain: bool
    #: Cosine similarity of the two closest voices' mean prints (1 = the same voice).
    closest: float = 1.0
    #: Share of prints that fall in the cluster of most prints of their stretch of speech.
    purity: float = 0.0


def diarize(
    words: Sequence[Word],
    frames: VoiceFrames,
    *,
    speakers: int = 2,
    max_speakers: int = 4,
    min_separation: float = 0.3,
    min_purity: float = 0.9,
    min_stretches: int = 6,
) -> Diarized:
    """Speaker of each word (in the given order). ``speakers`` fixes the number of voices; 0
    picks it (2..``max_speakers``) by the best silhouette. Below ``min_separation`` or
    ``min_purity`` the call is uncertain, and so is a call with fewer than ``min_stretches``
    stretches of speech long enough for two prints: too few for purity to mean anything (four
    stretches of one voice fall into two pure halves by chance; an 11-s speech did)."""
    if not words or _stretches(frames.spans) < min_stretches:
        return Diarized([0] * len(words), 1, 0.0, True)
    vectors = frames.vectors / np.linalg.norm(frames.vectors, axis=1, keepdims=True).clip(1e-9)
    candidates = [speakers] if speakers else list(range(2, max(2, max_speakers) + 1))
    best: tuple[float, np.ndarray, int] | None = None
    for k in candidates:
        if len(vectors) <= k:
            continue
        labels = _cluster(vectors, k)
        score = _silhouette(vectors, labels)
        if best is None or score > best[0]:
            best = (score, labels, k)
    if best is None:
        return Diarized([0] * len(words), 1, 0.0, True)
    score, labels, k = best
    closest = _closest(vectors, labels, k)
    purity = _purity(frames.spans, labels)
    if score < min_separation or purity < min_purity:
        return Diarized([0] * len(words), 1, score, True, closest, purity)
    found = _words_to_speakers(words, frames, labels, k)
    return Diarized(found, k, float(score), False, closest, purity)


def _stretches(spans: np.ndarray) -> int:
    """Stretches of speech that hold at least two prints."""
    _, counts = np.unique(spans, axis=0, return_counts=True) if len(spans) else (None, [])
    return int(sum(c > 1 for c in counts))


def _purity(spans: np.ndarray, labels: np.ndarray) -> float:
    """How well clusters follow the stretches of speech: the share of prints (in stretches with
    several) that fall in their stretch's majority cluster; 1.0 with no such stretch."""
    agree = total = 0
    keys = [tuple(s) for s in spans.tolist()]
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        if len(members) > 1:
            counts = np.bincount(labels[members])
            agree += int(counts.max())
            total += len(members)
    return agree / total if total else 1.0


def _closest(vectors: np.ndarray, labels: np.ndarray, k: int) -> float:
    means = np.stack([vectors[labels == c].mean(0) for c in range(k)])
    means /= np.linalg.norm(means, axis=1, keepdims=True).clip(1e-9)
    sims = means @ means.T
    return float(max(sims[i, j] for i in range(k) for j in range(i + 1, k)))


def _cluster(vectors: np.ndarray, k: int) -> np.ndarray:
    """k voices from unit vectors: spherical k-means (cosine), seeded, several starts."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(vectors)


def _silhouette(vectors: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import silhouette_score

    if len(set(labels.tolist())) < 2:
        return -1.0
    # A sample keeps it exact enough and O(n) on a three-hour call's ~15,000 prints.
    size = min(len(vectors), 3000)
    return float(
        silhouette_score(vectors, labels, metric="cosine", sample_size=size, random_state=0)
    )


def _words_to_speakers(
    words: Sequence[Word], frames: VoiceFrames, labels: np.ndarray, k: int
) -> list[int]:
    """Each word votes with the prints of its own stretch of speech, weighted by closeness in
    time (prints centred on the word count most); a word outside every stretch takes the
    nearest print. Stretches do not overlap, so with prints in time order a stretch's prints
    are one slice, found by binary search: a three-hour call's 30,000 words are not compared
    with its 20,000 prints one by one."""
    order = np.argsort(frames.times, kind="stable")
    times, labels, spans = frames.times[order], labels[order], frames.spans[order]
    starts = spans[:, 0]
    out = []
    for start, end, _ in words:
        middle = (start + end) / 2
        last = int(np.searchsorted(starts, middle + 1e-6, side="right")) - 1
        if last >= 0 and spans[last, 1] >= middle - 1e-6:
            first = int(np.searchsorted(starts, starts[last], side="left"))
            near = slice(first, last + 1)
            weight = 1.0 / (0.25 + np.abs(times[near] - middle))
            out.append(int(np.argmax(np.bincount(labels[near], weights=weight, minlength=k))))
        else:
            at = int(np.clip(np.searchsorted(times, middle), 1, len(times) - 1))
            nearest = at if abs(times[at] - middle) < abs(times[at - 1] - middle) else at - 1
            out.append(int(labels[nearest]))
    return out


def recut_by_voice(
    segments: list[Piece], voices: list[VoiceFrames], settings: WhisperSettings
) -> list[Piece] | None:
    """A mono call's pieces re-cut word by word at the speaker changes found by voice,
    named agent/customer (``ingest.roles``); None when the voices do not separate (the call
    keeps one speaker and is marked uncertain)."""
    d = settings.diarization
    pieces = sorted(segments, key=lambda p: p.start)
    words = [w for p in pieces for w in p.words]
    found = diarize(
        words,
        VoiceFrames.join(voices),
        speakers=d.speakers,
        max_speakers=d.max_speakers,
        min_separation=d.min_separation,
        min_purity=d.min_purity,
        min_stretches=d.min_stretches,
    )
    if found.uncertain:
        return None
    runs: list[tuple[int, list[Word]]] = []
    at = 0
    for piece in pieces:  # a run never spans two pieces: their pause stays a boundary
        for n, word in enumerate(piece.words):
            voice = found.speaker_of[at]
            at += 1
            if n and runs[-1][0] == voice:
                runs[-1][1].append(word)
            else:
                runs.append((voice, [word]))
    texts = [normalize("".join(w[2] for w in ws)) for _, ws in runs]
    names = name_voices(
        [Run(v, ws[0][0], ws[-1][1], t) for (v, ws), t in zip(runs, texts, strict=True)],
        found.speakers,
        agent=settings.channel_speakers[0],
        customer=settings.channel_speakers[1],
        agent_phrases=d.agent_phrases,
        customer_phrases=d.customer_phrases,
    )
    return [
        Piece(names[v], round(ws[0][0], 3), round(ws[-1][1], 3), t, tuple(ws))
        for (v, ws), t in zip(runs, texts, strict=True)
        if t
    ]
