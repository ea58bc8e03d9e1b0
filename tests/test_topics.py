from __future__ import annotations

import numpy as np
import pytest

from tilsite.index.cache import EmbeddingCache
from tilsite.index.store import SectionIndex, SectionRecord
from tilsite.results.copies import find_near_copies, near_copies
from tilsite.results.layout import map_positions, principal_plane
from tilsite.results.topics import (
    candidate_counts,
    compute_topics,
    label_words,
    site_topics,
    spherical_kmeans,
    template_headings,
)

SUBJECTS = {
    "git": ("Git 브랜치 병합", "git merge와 git rebase로 브랜치를 합친다. 충돌이 나면 git status로 확인한다."),
    "docker": ("Docker 컨테이너", "docker run으로 컨테이너를 띄우고 Dockerfile로 이미지를 빌드한다."),
    "css": ("CSS 선택자", "CSS 선택자로 태그를 고르고 flexbox로 레이아웃을 정렬한다."),
}


def _record(path: str, title: str, heading: str, anchor: str, text: str) -> SectionRecord:
    return SectionRecord(
        path,
        title,
        heading,
        anchor,
        path.replace(".md", "/") + (f"#{anchor}" if anchor else ""),
        text[:40],
        text,
        anchor,
    )


def _subject_index(per_subject: int = 6, seed: int = 0) -> SectionIndex:
    """Notes on three subjects, two sections each; each subject's vectors scattered around its own direction."""
    generator = np.random.default_rng(seed)
    directions = {name: generator.standard_normal(32) for name in SUBJECTS}
    records, vectors = [], []
    for name, (title, text) in SUBJECTS.items():
        for number in range(per_subject):
            path = f"day{number:02d}-{name}.md"
            for section, heading in enumerate((title, "참고")):
                anchor = "" if section == 0 else "참고"
                body = text if section == 0 else f"{text} 링크 모음 {number}"
                records.append(_record(path, f"{title} {number}일차", heading, anchor, body))
                vectors.append(directions[name] + 0.3 * generator.standard_normal(32))
    matrix = np.array(vectors, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return SectionIndex("m", records, matrix, content="subjects")


def test_notes_on_one_subject_share_a_topic_named_by_whole_words() -> None:
    topics = compute_topics(_subject_index())
    assert len(topics.topics) == 3
    for topic in topics.topics:
        subjects = {record.path.split("-")[1] for record in topic.notes}
        assert len(subjects) == 1, [record.path for record in topic.notes]
        assert len(topic.notes) == 6
    labels = {topic.notes[0].path.split("-")[1].removesuffix(".md"): topic.words for topic in topics.topics}
    assert "git" in [word.lower() for word in labels["git"]]
    assert "Docker" in labels["docker"] or "docker" in labels["docker"]
    for words in labels.values():
        assert "참고" not in words  # a heading every note has is the notes' template
        assert "일차" not in words  # never a piece of "6일차"
        for word in words:
            assert word in " ".join(f"{title} {text}" for title, text in SUBJECTS.values()), word
    assert set(topics.topic_of) == {record.path for record in _subject_index().records}
    assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for x, y in topics.positions.values())


def test_topics_are_the_same_every_time_and_kept_in_the_cache(tmp_path) -> None:
    index = _subject_index()
    first = compute_topics(index)
    assert compute_topics(index) == first
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        computed = site_topics(index, cache=cache)
        assert computed == first
        assert site_topics(index, cache=cache) == first  # read back from the cache
        assert cache.get_derived("topics", "unknown") is None


def test_excluded_notes_are_in_no_topic() -> None:
    topics = compute_topics(_subject_index(), exclude=("day00-*",))
    assert not any(path.startswith("day00-") for path in topics.topic_of)
    assert len(topics.topic_of) == 15


def test_a_few_notes_make_one_topic() -> None:
    index = _subject_index(per_subject=1)
    topics = compute_topics(index)
    assert len(topics.topics) == 1
    assert len(topics.topics[0].notes) == 3


def test_label_words_are_whole_words_in_every_script() -> None:
    words = label_words("내일배움캠프 14일차: 장고를 배우고 Django의 urls.py, C++ 와 C#. ビルドシステムの変数 2024 abc")
    assert "장고" in words and "urls.py" in words and "Django" in words
    assert "C++" in words and "C#" in words
    assert "ビルドシステム" in words and "変数" in words
    assert "일차" not in words and "2024" not in words
    assert all(len(word) >= 2 for word in words)


def test_template_headings_are_those_many_notes_share_word_for_word() -> None:
    notes = [
        [
            _record(f"n{n}.md", "t", "t", "", ""),
            _record(f"n{n}.md", "t", " 참고 ", "a", ""),
            _record(f"n{n}.md", "t", f"own {n}", "b", ""),
        ]
        for n in range(10)
    ]
    assert template_headings(notes) == {"참고"}


def test_candidate_counts_grow_with_the_notes() -> None:
    assert candidate_counts(10) == [2, 3]
    many = candidate_counts(2000)
    assert many[0] == 23 and many[-1] == 60 and many == sorted(set(many))


def test_spherical_kmeans_is_deterministic() -> None:
    rows = np.random.default_rng(3).standard_normal((50, 8))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    assert np.array_equal(spherical_kmeans(rows, 4), spherical_kmeans(rows, 4))


def test_map_keeps_neighbours_close_and_fits_the_square() -> None:
    generator = np.random.default_rng(1)
    centres = generator.standard_normal((4, 16)) * 3
    rows = np.vstack([centre + generator.standard_normal((25, 16)) * 0.3 for centre in centres])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    places = map_positions(rows @ rows.T, principal_plane(rows), seed=7)
    assert places.shape == (100, 2)
    assert places.min() >= 0.0 and places.max() <= 1.0
    assert np.array_equal(places, map_positions(rows @ rows.T, principal_plane(rows), seed=7))
    distance = np.linalg.norm(places[:, None] - places[None], axis=2)
    group = np.repeat(np.arange(4), 25)
    same = group[:, None] == group[None]
    assert distance[same].mean() * 3 < distance[~same].mean()


@pytest.mark.parametrize("total", [0, 1, 2])
def test_map_of_very_few_notes(total: int) -> None:
    rows = np.eye(3)[:total]
    assert map_positions(rows @ rows.T, np.zeros((total, 2)), seed=1).shape == (total, 2)


COPIED = (
    "docker run -d -p 8000:8000 django-app 으로 컨테이너를 백그라운드에서 실행한다."
    " -d 옵션은 터미널과 떨어져서 동작하게 하고 -p 옵션은 호스트의 포트와 컨테이너의 포트를 연결한다."
)


def test_a_section_copied_into_another_note_is_a_near_copy_and_a_similar_one_is_not(tmp_path) -> None:
    similar = (
        "docker compose up 으로 여러 컨테이너를 한 번에 실행한다."
        " 서비스마다 포트와 볼륨을 compose 파일에 적고 네트워크는 compose 가 만들어 준다."
    )
    records = [
        _record("a.md", "A", "실행", "run", COPIED),
        _record("b.md", "B", "4. RUN", "4-run", COPIED + " 끝에 한 줄을 덧붙였다."),
        _record("c.md", "C", "compose", "compose", similar),
        _record("b.md", "B", "짧음", "short", "docker run"),
        _record("d.md", "D", "짧음", "short", "docker run"),
    ]
    vectors = np.array([[1, 0, 0], [0.999, 0.04, 0], [0.97, 0.24, 0], [0, 0, 1], [0, 0, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = SectionIndex("m", records, vectors, content="copies")
    found = find_near_copies(index)
    assert [(pair.first.path, pair.second.path) for pair in found] == [("a.md", "b.md")]
    assert found[0].overlap == 1.0 and found[0].cosine > 0.99
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        assert near_copies(index, cache=cache) == found
        assert near_copies(index, cache=cache) == found


def test_a_topic_without_shared_words_is_named_by_its_number() -> None:
    from tilsite.results.topics import Topic

    assert Topic(2, (), ()).label == "Topic 3"
    assert Topic(0, ("Git", "rebase"), ()).label == "Git · rebase"
