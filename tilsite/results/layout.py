"""A map of the notes: two coordinates per note such that notes similar in meaning lie close together.

Each note is pulled towards its ``NEIGHBOURS`` most similar notes and pushed away from a few notes drawn at
random, by stochastic gradient steps on the curve that UMAP uses (a = 1.58, b = 0.9: points closer than
about 0.1 stop attracting), starting from the first two principal components. A fixed seed makes the
same notes give the same map. About 1 s for 2,000 notes; computed only when the notes change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy

NEIGHBOURS = 10
"""Notes each note is pulled towards."""
NEGATIVES = 3
"""Notes drawn at random that each pull is balanced by."""
EPOCHS = 200
"""Rounds of steps (every neighbour pair once a round)."""
_A, _B = 1.58, 0.9
_CLIP = 4.0


def principal_plane(rows: numpy.ndarray) -> numpy.ndarray:
    """The rows' first two principal components, each of standard deviation 1 (signs fixed: each
    component's largest coordinate is positive)."""
    import numpy as np

    centred = rows - rows.mean(axis=0)
    left, values, _ = np.linalg.svd(centred, full_matrices=False)
    plane = left[:, :2] * values[:2]
    if plane.shape[1] < 2:
        plane = np.hstack([plane, np.zeros((len(rows), 2 - plane.shape[1]))])
    for axis in range(2):
        column = plane[:, axis]
        if column[np.argmax(np.abs(column))] < 0:
            plane[:, axis] = -column
        spread = plane[:, axis].std()
        plane[:, axis] = plane[:, axis] / spread if spread > 0 else 0.0
    return plane


def map_positions(similarity: numpy.ndarray, start: numpy.ndarray, seed: int) -> numpy.ndarray:
    """Coordinates from 0 to 1 (``len(similarity)`` × 2) for notes whose pairwise ``similarity`` is given,
    starting from ``start`` (e.g. ``principal_plane``)."""
    import numpy as np

    total = len(similarity)
    if total <= 2:
        return np.array([[0.5, 0.5], [0.25, 0.75]][:total]) if total else np.zeros((0, 2))
    neighbours = min(NEIGHBOURS, total - 1)
    ranked = similarity.copy()
    np.fill_diagonal(ranked, -np.inf)
    nearest = np.argpartition(-ranked, neighbours - 1, axis=1)[:, :neighbours]
    heads = np.repeat(np.arange(total), neighbours)
    tails = nearest.reshape(-1)
    pairs = np.unique(np.sort(np.stack([heads, tails], axis=1), axis=1), axis=0)  # each pair once
    heads, tails = pairs[:, 0], pairs[:, 1]

    generator = np.random.default_rng(seed)
    places = start.astype(np.float64) * 10.0 / max(float(np.abs(start).max()), 1e-12)
    for epoch in range(EPOCHS):
        rate = 1.0 - epoch / EPOCHS
        shift = places[heads] - places[tails]
        distance = (shift**2).sum(axis=1, keepdims=True)
        pull = -2.0 * _A * _B * np.power(distance, _B - 1.0, where=distance > 0, out=np.zeros_like(distance))
        pull /= 1.0 + _A * np.power(distance, _B)
        step = np.clip(pull * shift, -_CLIP, _CLIP) * rate
        moves = _summed(heads, step, total) - _summed(tails, step, total)
        others = generator.integers(total, size=(len(heads), NEGATIVES))
        for column in range(NEGATIVES):
            away = places[heads] - places[others[:, column]]
            distance = (away**2).sum(axis=1, keepdims=True)
            push = 2.0 * _B / ((0.001 + distance) * (1.0 + _A * np.power(distance, _B)))
            push = np.where(others[:, column : column + 1] == heads[:, None], 0.0, push)
            moves += _summed(heads, np.clip(push * away, -_CLIP, _CLIP) * rate, total)
        counts = np.bincount(np.concatenate([heads, tails]), minlength=total)[:, None]
        places += moves / np.maximum(counts, 1)  # a note with many neighbours moves no faster than one with few
    low, high = places.min(axis=0), places.max(axis=0)
    return (places - low) / np.maximum(high - low, 1e-12)


def _summed(notes: numpy.ndarray, steps: numpy.ndarray, total: int) -> numpy.ndarray:
    """The ``steps`` (one 2-D step per entry of ``notes``) added up per note (``np.add.at``, 10× faster)."""
    import numpy as np

    return np.stack([np.bincount(notes, weights=steps[:, axis], minlength=total) for axis in range(2)], axis=1)
