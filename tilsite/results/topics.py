"""Topics: the notes grouped by meaning, each group named by its most distinctive words, and placed on a map.

A note is described by the same two signals as related notes (``tilsite.results.related``): its note
vector (centred by script) and its TF-IDF vector, joined so that the inner product of two notes is
``note cosine + KEYWORD_SHARE × TF-IDF cosine``. Spherical k-means (k-means++ seeded with a fixed
number, so every build of the same notes gives the same topics) groups them; the number of topics is
the one, among ``candidate_counts``, whose grouping has the best silhouette. Words from titles and
headings name a topic (see ``label_words``): whole words in every script, never pieces of words.
The map places the notes in two dimensions so that each note's nearest neighbours stay near it
(``tilsite.results.layout``). bench/topics.md compares the topics with the folders of repositories
organised by topic, against k-means on TF-IDF alone.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tilsite.results.related import DEFAULT_EXCLUDE, NoteGroups, excluded

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy

    from tilsite.index.cache import EmbeddingCache
    from tilsite.index.store import SectionIndex, SectionRecord

TOPICS_VERSION = 5
"""Changes whenever ``compute_topics`` groups, names or places notes differently (cached results are not reused)."""
KEYWORD_SHARE = 0.5
"""Weight of the TF-IDF cosine beside the note vectors' cosine when notes are grouped."""
MIN_NOTES = 6
"""Fewer notes than this make one topic: there is nothing to tell apart."""
SEED = 20261201
"""The seed of k-means++ and of the map's layout: the same notes give the same topics and map."""
LABEL_WORDS = 3
"""Words in a topic's name."""


@dataclass(slots=True, frozen=True)
class Topic:
    """A group of notes about the same thing."""

    number: int
    """Its place in the list of topics (largest first), from 0."""
    words: tuple[str, ...]
    """The words that name it, most distinctive first."""
    notes: tuple[SectionRecord, ...]
    """Its notes, closest to the topic's centre first: for each, the section that is closest."""

    @property
    def label(self) -> str:
        """The topic's name: its words, joined (``Topic 3`` when no word is shared by enough of its notes)."""
        return " · ".join(self.words) or f"Topic {self.number + 1}"


@dataclass(slots=True, frozen=True)
class Topics:
    """The topics of a site and the map of its notes."""

    topics: list[Topic]
    """Largest first."""
    topic_of: dict[str, int]
    """Each grouped note's topic number, by note path."""
    positions: dict[str, tuple[float, float]]
    """Each grouped note's place on the map, both coordinates from 0 to 1."""


def note_features(
    index: SectionIndex, exclude: tuple[str, ...], notes: NoteGroups | None = None
) -> tuple[NoteGroups, list[str], numpy.ndarray]:
    """The index's notes grouped (``notes``, made when not given), the notes that are grouped into topics (all
    but the ``exclude``d), and one unit row for each of those whose inner products are ``note cosine +
    KEYWORD_SHARE × TF-IDF cosine``."""
    import numpy as np

    from tilsite.results.keywords import KEYWORD_DIMENSIONS, keyword_rows

    notes = notes or NoteGroups.of(index)
    number = {path: position for position, path in enumerate(notes.paths)}
    paths = [path for path in notes.paths if not excluded(path, exclude)]
    kept = np.array([number[path] for path in paths], dtype=np.int64)
    columns, weights = notes.keyword_terms()
    keywords = keyword_rows(columns[kept], weights[kept])[:, :KEYWORD_DIMENSIONS]
    joined = np.hstack([notes.vectors(index)[kept], math.sqrt(KEYWORD_SHARE) * keywords]).astype(np.float32)
    return notes, paths, joined / math.sqrt(1.0 + KEYWORD_SHARE)


def reduced_rows(rows: numpy.ndarray, dimensions: int = 96, seed: int = SEED) -> numpy.ndarray:
    """``rows`` projected onto their ``dimensions`` main directions (a randomised SVD with ``seed``), so that
    inner products stay close to the rows' own and k-means runs on short rows."""
    import numpy as np

    if min(rows.shape) <= dimensions:
        return rows.astype(np.float64)
    generator = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rows @ generator.standard_normal((rows.shape[1], dimensions + 10)))
    basis, _ = np.linalg.qr(rows @ (rows.T @ basis))  # one power iteration sharpens the directions
    left, values, _ = np.linalg.svd(basis.T @ rows, full_matrices=False)
    return (basis @ left[:, :dimensions]) * values[:dimensions]


def spherical_kmeans(rows: numpy.ndarray, count: int, seed: int = SEED, rounds: int = 40) -> numpy.ndarray:
    """Each row's group among ``count`` (k-means on the unit sphere: rows go to the centre of highest inner
    product; centres are the normalised means), started by k-means++ with ``seed``."""
    import numpy as np

    total = len(rows)
    generator = np.random.default_rng(seed)
    chosen = [int(generator.integers(total))]
    distance = np.maximum(1.0 - rows @ rows[chosen[0]], 0.0)
    for _ in range(1, count):
        weights = distance**2
        mass = float(weights.sum())
        pick = int(generator.choice(total, p=weights / mass)) if mass > 0 else int(generator.integers(total))
        chosen.append(pick)
        distance = np.minimum(distance, np.maximum(1.0 - rows @ rows[pick], 0.0))
    centres = rows[chosen].astype(np.float64)
    groups = np.full(total, -1)
    for _ in range(rounds):
        closest = np.argmax(rows @ centres.T, axis=1)
        if np.array_equal(closest, groups):
            break
        groups = closest
        members = np.zeros((count, total))
        members[groups, np.arange(total)] = 1.0
        sums = members @ rows
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centres = np.where(norms > 0, sums / np.maximum(norms, 1e-12), centres)  # an emptied group keeps its centre
    return groups


def silhouette(similarity: numpy.ndarray, groups: numpy.ndarray) -> float:
    """Mean silhouette of ``groups`` with ``1 - similarity`` as the distance (a note alone in its group: 0)."""
    import numpy as np

    count = int(groups.max()) + 1
    members = np.zeros((len(groups), count))
    members[np.arange(len(groups)), groups] = 1.0
    sizes = members.sum(axis=0)
    sums = (1.0 - similarity) @ members
    own = sizes[groups]
    inside = sums[np.arange(len(groups)), groups] / np.maximum(own - 1, 1)
    mean_to = sums / np.maximum(sizes, 1)
    mean_to[np.arange(len(groups)), groups] = np.inf
    mean_to[:, sizes == 0] = np.inf
    nearest = mean_to.min(axis=1)
    scores = np.where(own > 1, (nearest - inside) / np.maximum(np.maximum(inside, nearest), 1e-12), 0.0)
    return float(scores.mean())


def candidate_counts(notes: int) -> list[int]:
    """Numbers of topics tried for ``notes`` notes: from about √notes / 2 (a topic page of a few large topics
    tells a reader little, and the silhouette tends to favour the fewest) to √notes × 1.5, at most 60."""
    lowest = max(2, math.ceil(math.sqrt(notes) / 2))
    highest = max(lowest, min(60, int(1.5 * math.sqrt(notes)), notes // 3))
    counts = [lowest]
    step = 1
    while counts[-1] < highest:
        counts.append(min(highest, counts[-1] + step))
        step += 1 if counts[-1] >= 12 else 0
    return counts


def choose_groups(rows: numpy.ndarray, similarity: numpy.ndarray) -> numpy.ndarray:
    """Each row's group: k-means for each of ``candidate_counts``, the grouping with the best silhouette."""
    import numpy as np

    total = len(rows)
    if total < MIN_NOTES:
        return np.zeros(total, dtype=np.int64)
    best: tuple[float, numpy.ndarray] | None = None
    for count in candidate_counts(total):
        groups = spherical_kmeans(rows, count)
        score = silhouette(similarity, groups)
        if best is None or score > best[0]:
            best = (score, groups)
    assert best is not None  # candidate_counts is never empty
    return best[1]


_ENGLISH_STOP = """
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
our out over own same she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your yours
using use used uses via vs get gets got make makes made new one two way ways thing things til today learned learn
learning note notes example examples http https www com org io html md png jpg jpeg gif svg img image images pdf
etc like want need see lets day readme index tl dr
"""
_KOREAN_STOP = """
오늘 내일 어제 내용 정리 공부 학습 배운 배운점 느낀점 회고 참고 사용 사용법 방법 경우 위해 통해 그리고 하지만
그래서 또한 이번 다음 이후 이전 관련 대한 대해 있는 없는 하는 되는 있다 없다 한다 된다 것을 것이 것은 수업
강의 과제 목표 시간 진행 정도 부분 문제 해결 결과 설명 예시 예제 코드 실습 개념 기본 정의 특징 종류 주의
요약 메모 기록 혹은 또는 그러나 만약 다른 같은 모든 각각 이것 그것 여기 때문 때문에 않고 없이 가장 매우
에서 으로 에게 까지 부터
"""
_KOREAN_ENDINGS = """
에서는 으로는 에서도 이라는 이라고 으로도 에게서 에서 으로 까지 부터 이란 이라 하기 하는 하고 해서 하면 했다
한다 에는 에도 에게 이다 입니다 하여 되는 되어 되고 된다 을 를 이 가 은 는 의 에 로 와 과 도 만 란 라
"""
_STOP_WORDS = frozenset(_ENGLISH_STOP.split()) | frozenset(_KOREAN_STOP.split())
"""Words too common in notes to name a topic (most are rare in titles and headings anyway)."""
_PARTICLE_AT_END = re.compile(
    "(.{2,}?)(?:" + "|".join(sorted(_KOREAN_ENDINGS.split(), key=len, reverse=True)) + ")", re.DOTALL
)
"""A Korean word and the particle or verb ending at its end (the longest, leaving two syllables at least)."""
_ASCII_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.+#][A-Za-z0-9]+)*\+*#?")
_HANGUL_WORD = re.compile(r"(?<![0-9\uac00-\ud7a3])[\uac00-\ud7a3]+")  # not "일차" of "14일차"
_KATAKANA_WORD = re.compile(r"[\u30a0-\u30ff]{2,}")
_HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")
_HEADING_WEIGHT = 1.0
_BODY_WEIGHT = 0.3
"""How much a word in a note's text counts for its topic's name, against one in its title or headings."""
TITLE_BOILERPLATE = 0.1
"""A word in the titles of this share of the notes (three or more), in more than one topic, names none."""
TEMPLATE_SHARE = 0.05
"""A heading that this share of the notes (and three or more) have word for word is part of their template."""
BODY_CHARS = 3000
"""Characters of a note's text read for words (what a note is about shows early, as for TF-IDF)."""


def label_words(text: str) -> set[str]:
    """Whole words of ``text`` that may name a topic, as written: English and code words (no stop words,
    no numbers), Korean words without the particle at their end (``장고를`` → ``장고``), runs of katakana
    and of kanji; never pieces of a word."""
    words = set()
    for found in set(_ASCII_WORD.findall(text)):  # each distinct word once: notes repeat their words
        word = found.rstrip(".-_")
        letters = len(word) if word.isalpha() else sum(char.isalpha() for char in word)
        language = letters == 1 and word.endswith(("++", "#"))  # C++, C#
        named = language or (letters >= 2 and letters * 2 >= len(word))  # not a number, a date or a hash
        if named and len(word) <= 30 and word.lower() not in _STOP_WORDS:
            words.add(word)
    for found in set(_HANGUL_WORD.findall(text)):
        stripped = _PARTICLE_AT_END.fullmatch(found)
        word = stripped.group(1) if stripped else found
        if 2 <= len(word) <= 12 and word not in _STOP_WORDS:
            words.add(word)
    words.update(_KATAKANA_WORD.findall(text))
    words.update(word for word in _HAN_WORD.findall(text) if len(word) <= 8)
    return words


@dataclass(slots=True)
class NoteWords:
    """The words of one note that may name its topic (lower case), by where they are."""

    title: set[str]
    """In its title."""
    headings: set[str]
    """In its title and headings."""
    body: set[str]
    """In its text only."""

    @classmethod
    def of(cls, records: list[SectionRecord], spelling: Counter[str], template: set[str]) -> NoteWords:
        """The words of the note whose sections are ``records``: the first ``BODY_CHARS`` characters of its text,
        and its headings but those in ``template`` (see ``template_headings``); how each word was written is
        added to ``spelling``."""
        found = cls(set(), set(), set())
        room = BODY_CHARS
        for number, record in enumerate(records):
            title = label_words(record.title) if number == 0 else set()
            heading = set() if _heading_key(record.heading) in template else label_words(record.heading)
            for words, into in (
                (title, found.title),
                (title, found.headings),
                (heading, found.headings),
                (label_words(record.text[:room]), found.body),
            ):
                for word in words:
                    into.add(word.lower())
            room = max(0, room - len(record.text))
            spelling.update(title)
            spelling.update(heading)
        found.body -= found.headings
        return found


def _heading_key(heading: str) -> str:
    return " ".join(heading.casefold().split())


def template_headings(notes: list[list[SectionRecord]]) -> set[str]:
    """Headings that many notes have word for word (``References``, ``TL;DR``, ``参照``, ``느낀점``): the
    notes' template, not their topic. ``notes``: each note's sections, the first one's heading its title."""
    seen: Counter[str] = Counter()
    for records in notes:
        seen.update({_heading_key(record.heading) for record in records[1:]})
    return {heading for heading, count in seen.items() if count >= max(3, TEMPLATE_SHARE * len(notes))}


def topic_words(members: list[list[int]], notes: list[NoteWords], spelling: Counter[str]) -> list[tuple[str, ...]]:
    """The ``LABEL_WORDS`` most distinctive words of each group of ``notes`` (``members``: note numbers).

    A word's weight in a group is the share of its notes that hold it (a word of a title or heading counts
    fully, one of the text ``_BODY_WEIGHT``), times its inverse document frequency over all notes. A word
    must be in two of the group's notes (when it has two); words in the titles of many notes in more than
    one group (``TIL``, a course's name, ``내일배움캠프``) say when a note was written, not what about, and are
    left out; a word that another chosen word contains (``docker`` beside ``docker-compose``) is not
    chosen again.
    """
    total = len(notes)
    frequency: Counter[str] = Counter()
    in_titles: Counter[str] = Counter()
    title_groups: dict[str, set[int]] = {}
    for number, group_members in enumerate(members):
        for member in group_members:
            for word in notes[member].title:
                title_groups.setdefault(word, set()).add(number)
    for note in notes:
        frequency.update(note.headings | note.body)
        in_titles.update(note.title)
    boilerplate = {
        word
        for word, seen in in_titles.items()
        if len(members) > 1 and seen >= max(3, TITLE_BOILERPLATE * total) and len(title_groups[word]) >= 2
    }
    shown: dict[str, str] = {}
    for word, _ in sorted(spelling.items(), key=lambda item: (-item[1], item[0])):
        shown.setdefault(word.lower(), word)
    names = []
    for group in members:
        weight: dict[str, float] = {}
        seen: Counter[str] = Counter()
        for member in group:
            for words, worth in ((notes[member].headings, _HEADING_WEIGHT), (notes[member].body, _BODY_WEIGHT)):
                for word in words:
                    weight[word] = weight.get(word, 0.0) + worth
                    seen[word] += 1
        needed = min(2, len(group))
        scored = sorted(
            (-(weight[word] / len(group)) * math.log(1 + total / frequency[word]), word)
            for word in weight
            if seen[word] >= needed and word not in boilerplate
        )
        chosen: list[str] = []
        for _, word in scored:
            if any(word in other or other in word for other in chosen):
                continue
            chosen.append(word)
            if len(chosen) == LABEL_WORDS:
                break
        names.append(tuple(shown.get(word, word) for word in chosen))
    return names


def compute_topics(
    index: SectionIndex, exclude: tuple[str, ...] = DEFAULT_EXCLUDE, notes: NoteGroups | None = None
) -> Topics:
    """The topics of the notes in ``index`` (all but the ``exclude``d), named, with the map of the notes
    (``notes``: the index's ``NoteGroups``, when the caller has them already)."""
    import numpy as np

    from tilsite.results.layout import map_positions, principal_plane

    notes, paths, features = note_features(index, exclude, notes)
    if not paths:
        return Topics([], {}, {})
    rows = reduced_rows(features)
    rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    similarity = rows @ rows.T
    groups = choose_groups(rows, similarity)
    position = {path: number for number, path in enumerate(notes.paths)}
    sections_of = {path: notes.sections(position[path]) for path in paths}
    by_note = {path: [index.records[place] for place in sections_of[path]] for path in paths}
    spelling: Counter[str] = Counter()
    template = template_headings([by_note[path] for path in paths])
    words = [NoteWords.of(by_note[path], spelling, template) for path in paths]
    count = int(groups.max()) + 1
    members = [np.flatnonzero(groups == group).tolist() for group in range(count)]
    order = sorted(range(count), key=lambda group: (-len(members[group]), min(members[group]) if members[group] else 0))
    members = [members[group] for group in order if members[group]]
    names = topic_words(members, words, spelling)

    sections = notes.section_vectors(index)
    topics = []
    topic_of = {}
    for number, (group, name) in enumerate(zip(members, names, strict=True)):
        closeness = rows[group] @ rows[group].mean(axis=0)
        ranked = [group[place] for place in np.lexsort((np.array(group), -closeness)).tolist()]
        # Each note's best section: the closest to the mean of all the topic's sections (centred by script).
        centre = sections[[place for note in group for place in sections_of[paths[note]]]].mean(axis=0)
        best = []
        for note in ranked:
            places = sections_of[paths[note]]
            best.append(index.records[places[int(np.argmax(sections[places] @ centre))]])
            topic_of[paths[note]] = number
        topics.append(Topic(number, name, tuple(best)))
    positions = map_positions(similarity, principal_plane(rows), SEED)
    return Topics(
        topics, topic_of, {path: (float(x), float(y)) for path, (x, y) in zip(paths, positions.tolist(), strict=True)}
    )


def site_topics(
    index: SectionIndex,
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
    *,
    cache: EmbeddingCache | None = None,
    notes: Callable[[], NoteGroups] | None = None,
) -> Topics:
    """``compute_topics``, kept in ``cache`` for the index's content and these settings (``notes``: as for
    ``related_notes``)."""
    if cache is None or not index.content:
        return compute_topics(index, exclude, notes() if notes else None)
    source = hashlib.sha256(json.dumps([TOPICS_VERSION, index.content, sorted(exclude)]).encode("utf-8")).hexdigest()
    stored = cache.get_derived("topics", source)
    if stored is not None:
        try:
            return _topics_from_json(json.loads(stored), index)
        except (TypeError, ValueError, IndexError, KeyError):
            pass  # not what this function writes: compute it again
    topics = compute_topics(index, exclude, notes() if notes else None)
    cache.put_derived("topics", source, json.dumps(_topics_to_json(topics, index)).encode("utf-8"))
    return topics


def _topics_to_json(topics: Topics, index: SectionIndex) -> dict[str, object]:
    position = {id(record): number for number, record in enumerate(index.records)}
    return {
        "topics": [
            {"words": list(topic.words), "notes": [position[id(record)] for record in topic.notes]}
            for topic in topics.topics
        ],
        "positions": {path: list(place) for path, place in topics.positions.items()},
    }


def _topics_from_json(data: dict[str, object], index: SectionIndex) -> Topics:
    records = index.records
    topics = []
    topic_of = {}
    stored_topics = data["topics"]
    stored_positions = data["positions"]
    if not isinstance(stored_topics, list) or not isinstance(stored_positions, dict):
        raise TypeError("not topics")
    for number, item in enumerate(stored_topics):
        notes = tuple(records[place] for place in item["notes"])
        for record in notes:
            topic_of[record.path] = number
        topics.append(Topic(number, tuple(str(word) for word in item["words"]), notes))
    positions = {str(path): (float(place[0]), float(place[1])) for path, place in stored_positions.items()}
    return Topics(topics, topic_of, positions)
