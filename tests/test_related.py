from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from tilsite.index.store import SectionIndex, SectionRecord
from tilsite.results.related import (
    addresses_only,
    blended,
    compute_related,
    image_only,
    related_notes,
    script,
    template_sections,
)


def _record(path: str, anchor: str, text: str = "") -> SectionRecord:
    """A section; without ``text``, one word of its own (a note with no text is left out of related lists)."""
    text = text or "w" + hashlib.md5(f"{path}#{anchor}".encode()).hexdigest()[:8]
    return SectionRecord(path, path, anchor, anchor, f"{path}#{anchor}", "", text, f"{path}#{anchor}:{text}")


def _index(rows: list[tuple[str, str, list[float]]], texts: dict[str, str] | None = None) -> SectionIndex:
    vectors = np.array([vector for _, _, vector in rows], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = [_record(path, anchor, (texts or {}).get(path, "")) for path, anchor, _ in rows]
    return SectionIndex("m", records, vectors)


def test_notes_meet_at_their_best_section_pair() -> None:
    index = _index(
        [
            ("a.md", "a1", [1, 0, 0, 0]),
            ("a.md", "a2", [0, 1, 0, 0]),
            ("b.md", "b1", [0.1, 1, 0, 0]),
            ("b.md", "b2", [0, 0, 1, 0]),
            ("c.md", "c1", [0, 0, 0, 1]),
            ("d.md", "d1", [0, 0, 0.2, 1]),
        ]
    )
    related = compute_related(index, count=5, threshold=-2)
    a = related["a.md"]
    assert a[0].target.path == "b.md"
    assert (a[0].target.anchor, a[0].source_anchor) == ("b1", "a2")  # where the two notes meet
    assert a[0].source.path == "a.md"
    assert [item.score for item in a] == sorted((item.score for item in a), reverse=True)
    assert all(item.target.path != path for path, items in related.items() for item in items)
    # The threshold applies to the score shown, so a stricter one only shortens the lists.
    strict = compute_related(index, count=5, threshold=a[0].score - 1e-6)
    assert [item.target.path for item in strict["a.md"]] == ["b.md"]


def test_never_itself_threshold_and_count() -> None:
    index = _index([("a.md", "x", [1, 0]), ("a.md", "y", [1, 0.01]), ("b.md", "z", [0, 1]), ("c.md", "w", [1, 0.2])])
    related = compute_related(index, count=1, threshold=0.5)
    assert [item.target.path for item in related["a.md"]] == ["c.md"]
    assert related.get("b.md", []) == []  # nothing near enough


def test_shared_rare_words_decide_between_notes_equally_near_by_meaning() -> None:
    texts = {
        "a.md": "pytest fixtures with tmp_path and monkeypatch",
        "z.md": "using pytest fixtures: tmp_path, monkeypatch, capsys",
        "c.md": "sourdough bread needs a starter and patience",
        "d.md": "notes on something else entirely",
    }
    # z and c are exactly as near to a by meaning (c would win the tie by name); z shares a's words.
    rows = [
        ("a.md", "", [1.0, 0, 0]),
        ("z.md", "", [0.6, 0.8, 0]),
        ("c.md", "", [0.6, -0.8, 0]),
        ("d.md", "", [0, 0, 1.0]),
    ]
    ranked = [item.target.path for item in compute_related(_index(rows, texts), count=3, threshold=-2)["a.md"]]
    assert ranked.index("z.md") < ranked.index("c.md")


def test_notes_in_another_language_are_compared_without_the_language() -> None:
    """An English note about git is nearer to a Korean note about git than to English notes on other
    topics, although the model puts every English text closer to every other (here: a shared direction)."""
    topics = ["git", "http", "css", "sql", "docker"]
    korean = {
        "git": "깃 브랜치 병합",
        "http": "상태 코드 응답",
        "css": "레이아웃 정렬",
        "sql": "조인 쿼리 집계",
        "docker": "컨테이너 이미지 빌드",
    }
    rows: list[tuple[str, str, list[float]]] = []
    texts: dict[str, str] = {}
    for number, topic in enumerate(topics):
        topic_direction = [0.0] * 7
        topic_direction[2 + number] = 1.0
        rows.append((f"en/{topic}.md", "", [3.0, 0.0, *topic_direction[2:]]))
        rows.append((f"ko/{topic}.md", "", [0.0, 3.0, *topic_direction[2:]]))
        texts[f"en/{topic}.md"] = f"notes about {topic} written in English"
        texts[f"ko/{topic}.md"] = f"{korean[topic]} 에 대한 한국어 노트"
    index = _index(rows, texts)
    related = compute_related(index, count=3, threshold=-2)
    for topic in topics:
        assert related[f"en/{topic}.md"][0].target.path == f"ko/{topic}.md"
        assert related[f"ko/{topic}.md"][0].target.path == f"en/{topic}.md"


def test_script_of_a_text() -> None:
    assert script("깃 브랜치를 merge 하는 방법: git merge feature") == "ko"
    assert script("Gitのブランチをマージする") == "cjk"
    assert script("How git merge works") == "latin"
    assert script("") == "latin"


def test_script_counts_letters_as_the_character_classes_say() -> None:
    """``script`` counts code points with numpy; the counts are those of the classes [가-힣], [ぁ-ヿ一-鿿] and
    [A-Za-z], at the classes' edges too, and a lone surrogate (a file read with surrogateescape) is no error.
    ``scripts`` counts many texts at once: each text's letters, none of its neighbours' (empty texts among them)."""
    import re

    from tilsite.results.related import scripts

    rng = np.random.default_rng(5)
    edges = [0xAC00, 0xD7A3, 0xABFF, 0xD7A4, 0x3040, 0x30FF, 0x303F, 0x3100, 0x4E00, 0x9FFF, 0x4DFF, 0xA000]
    edges += [ord(c) for c in "@AZ[`az{"] + [0xDC80, 0x1F600, 0x61 | 0x80, 0x41 + 0x100]
    classes = [re.compile(r"[\uac00-\ud7a3]"), re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"), re.compile(r"[A-Za-z]")]
    texts, expectations = [], []
    for _ in range(300):
        text = "".join(chr(int(code)) for code in rng.choice(edges, size=int(rng.integers(0, 40))))
        hangul, kana_han, latin = (len(pattern.findall(text)) for pattern in classes)
        letters = hangul + kana_han + latin
        if letters and hangul >= max(kana_han, 0.15 * letters):
            expected = "ko"
        elif letters and kana_han >= 0.15 * letters:
            expected = "cjk"
        else:
            expected = "latin"
        assert script(text) == expected, text
        texts.append(text)
        expectations.append(expected)
    assert scripts(texts) == expectations
    assert scripts([]) == []


def test_empty_index() -> None:
    assert compute_related(SectionIndex("m", [], np.zeros((0, 0), np.float32))) == {}


def test_related_notes_are_cached_for_the_index_content_and_settings(tmp_path: Path, monkeypatch) -> None:
    from tilsite.index.cache import EmbeddingCache
    from tilsite.results import related as related_module

    index = _index([("a.md", "x", [1, 0]), ("b.md", "y", [1, 0.1]), ("c.md", "z", [0.2, 1])])
    index.content = "content-1"
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    computed: list[tuple] = []

    def counting(*args):  # type: ignore[no-untyped-def]
        computed.append(args[1:])
        return compute_related(*args)

    monkeypatch.setattr(related_module, "compute_related", counting)
    first = related_notes(index, 2, 0.1, cache=cache)
    assert first == compute_related(index, 2, 0.1) and len(computed) == 1
    assert related_notes(index, 2, 0.1, cache=cache) == first and len(computed) == 1  # from the cache
    assert related_notes(index, 1, 0.1, cache=cache) == compute_related(index, 1, 0.1)
    assert len(computed) == 2  # other settings
    index.content = "content-2"
    related_notes(index, 1, 0.1, cache=cache)
    assert len(computed) == 3  # another index
    # What does not fit the index is not trusted.
    source = hashlib.sha256(
        json.dumps([related_module.RELATED_VERSION, "content-2", 1, 0.1, ["README.md", "index.md"]]).encode()
    ).hexdigest()
    assert cache.get_derived("related", source) is not None
    cache.put_derived("related", source, json.dumps({"a.md": [[99, 0, 1.0]]}).encode())
    assert related_notes(index, 1, 0.1, cache=cache) == compute_related(index, 1, 0.1)
    assert len(computed) == 4
    # Without a content hash (an index never written), nothing is cached.
    index.content = ""
    related_notes(index, 1, 0.1, cache=cache)
    related_notes(index, 1, 0.1, cache=cache)
    assert len(computed) == 6
    cache.close()


def test_a_note_alone_in_its_script_keeps_its_meaning() -> None:
    """One Korean note among sixty English ones is centred with everything, not with itself (it would
    become nothing), and still finds the English note that says the same."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(60, 16))
    rows = [(f"en/{i:02}.md", "", list(base[i])) for i in range(60)]
    rows.append(("ko/twin.md", "", list(base[59] + rng.normal(scale=0.05, size=16))))
    texts = {f"en/{i:02}.md": "an english note" for i in range(60)} | {"ko/twin.md": "같은 내용의 한국어 노트"}
    related = compute_related(_index(rows, texts), count=3, threshold=-2)
    assert related["ko/twin.md"][0].target.path == "en/59.md"
    assert related["en/59.md"][0].target.path == "ko/twin.md"


def test_two_notes_are_related_when_they_say_the_same() -> None:
    """Too few notes to estimate what all texts share: nothing is removed (two notes centred are opposites)."""
    rows = [("a.md", "", [1.0, 0.1, 0.0]), ("b.md", "", [1.0, 0.12, 0.01])]
    related = compute_related(_index(rows, {"a.md": "git rebase", "b.md": "git rebase -i"}))
    assert [item.target.path for item in related["a.md"]] == ["b.md"]
    assert [item.target.path for item in related["b.md"]] == ["a.md"]


def _unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_note_vector_leans_towards_the_notes_around_it() -> None:
    group_a = [[1, 0.1, 0, 0], [1, 0, 0.1, 0], [1, 0.05, 0.05, 0], [1, 0, 0, 0.1]]
    group_b = [[0.1, 1, 0, 0], [0, 1, 0.1, 0], [0, 1, 0, 0.1]]
    vectors = _unit([*group_a, *group_b, [1, 0.8, 0, 0]])  # the last one: nearer group a, half in b
    mixed = blended(vectors)
    assert mixed.shape == vectors.shape and np.allclose(np.linalg.norm(mixed, axis=1), 1, atol=1e-6)
    centre_a, centre_b = vectors[:4].mean(axis=0), vectors[4:7].mean(axis=0)
    assert mixed[-1] @ centre_a > vectors[-1] @ centre_a and mixed[-1] @ centre_b < vectors[-1] @ centre_b
    # A row that is left out (an index page, like every note a little) lends nothing to the others.
    with_index_page = np.vstack([vectors, _unit([[1, 1, 1, 1]])])
    left_out = np.array([False] * len(vectors) + [True])
    np.testing.assert_allclose(blended(with_index_page, left_out)[:-1], mixed, atol=1e-6)
    assert not np.allclose(blended(with_index_page)[:-1], mixed, atol=1e-3)
    # One note has no neighbours: its vector stays as it is.
    np.testing.assert_array_equal(blended(vectors[:1]), vectors[:1])


def test_sections_a_template_fills_in_never_decide_where_notes_meet() -> None:
    """Problems copied from an online judge: each says how fast it ran, when it was solved and links the
    problem. Notes meet where they say the same about their problems, not there."""
    topics = {"p1": [1, 0, 0, 0], "p2": [1, 0.1, 0, 0], "p3": [0, 1, 0, 0], "p4": [0, 1, 0.1, 0]}
    topics |= {"p5": [0, 0, 1, 0], "p6": [0.1, 0, 1, 0]}
    records, vectors = [], []
    for number, (name, topic) in enumerate(topics.items()):
        path = f"백준/{name}.md"
        sections = {
            "": ("문제 링크", [0, 0, 0, 1]),
            "stats": (f"메모리: {1000 + 37 * number} KB, 시간: {4 + number} ms", [0, 0.05, 0, 1]),
            "body": (f"problem {'abcdef'[number]}", topic),
        }
        for anchor, (text, vector) in sections.items():
            records.append(SectionRecord(path, name, anchor or name, anchor, f"{path}#{anchor}", "", text, path + text))
            vectors.append(vector)
    array = np.array(vectors, dtype=np.float32)
    index = SectionIndex("m", records, array / np.linalg.norm(array, axis=1, keepdims=True))
    assert template_sections(index.records).tolist() == [True, True, False] * 6
    related = compute_related(index, count=5, threshold=-2)
    first = related["백준/p1.md"][0]
    assert first.target.path == "백준/p2.md" and (first.target.anchor, first.source_anchor) == ("body", "body")
    assert all(item.target.anchor == "body" for items in related.values() for item in items)
    assert [related[f"백준/p{n}.md"][0].target.path for n in (3, 5)] == ["백준/p4.md", "백준/p6.md"]


def test_a_text_a_few_notes_share_still_counts() -> None:
    """A book's byline in five of thirty notes (a volume number that seldom differs) says what they are about."""
    records = [_record(f"n{n}.md", "", f"자바의 정석(남궁성 저) {1 + n // 3}권 학습") for n in range(5)]
    records += [_record(f"n{n}.md", "", f"a note on {hashlib.md5(bytes([n])).hexdigest()}") for n in range(5, 30)]
    records += [_record(f"n{n}.md", "a", f"day {n}: {n * 7} minutes") for n in range(30)]
    template = template_sections(records)
    assert not template[:30].any()
    assert template[30:].all()  # a form: the same words, other numbers in every note


def test_a_lone_image_never_decides_where_notes_meet_nor_a_copy_shows_twice() -> None:
    """A section that is only a pasted image reads as its file's name; a note kept in two folders is one note."""
    assert image_only("img.png") and image_only("스크린샷 2024-01-01 오후 3.12.45") and image_only("image (1).png")
    assert not image_only("구조도") and not image_only("venv 구조도.png 를 보자") and not image_only("9.2")
    assert not image_only("")
    rows = {
        "a.md": [("", "JPA 변경 감지", [1, 0, 0, 0]), ("img", "img.png", [0, 0, 0, 1])],
        "old/b.md": [("", "변경 감지가 안 될 때", [1, 0.2, 0, 0]), ("img", "img.png", [0, 0, 0, 1])],
        "velog/b.md": [("", "변경 감지가 안 될 때", [1, 0.2, 0, 0])],
        "c.md": [("", "영속성 컨텍스트", [1, 0.5, 0, 0])],
        "d.md": [("", "네트워크", [0, 0, 1, 0]), ("img", "image.png", [0, 0, 0, 1])],
    }
    records, vectors = [], []
    for path, sections in rows.items():
        for anchor, text, vector in sections:
            title = "B" if path.endswith("b.md") else path
            records.append(SectionRecord(path, title, anchor or title, anchor, f"{path}#{anchor}", "", text, text))
            vectors.append(vector)
    array = np.array(vectors, dtype=np.float32)
    index = SectionIndex("m", records, array / np.linalg.norm(array, axis=1, keepdims=True))
    related = compute_related(index, count=5, threshold=-2)
    listed = [item.target.path for item in related["a.md"]]
    assert listed[0] in ("old/b.md", "velog/b.md") and len([p for p in listed if p.endswith("b.md")]) == 1
    assert all(item.target.anchor != "img" and item.source_anchor != "img" for item in related["a.md"])
    assert not any(item.target.path.endswith("b.md") for item in related["old/b.md"])  # never beside itself


def test_a_list_of_addresses_ranks_notes_but_is_not_shown_as_where_they_meet() -> None:
    """Two notes whose reference lists point at one site are near for it (the lists stay in the ranking), but
    the entry shows the sections that say something in words, unless a note has nothing else."""
    assert addresses_only("* https://m.blog.naver.com/x?msclkid=1\n* www.example.com/a b.png")
    assert not addresses_only("https://a.com 참고") and not addresses_only("") and not addresses_only("TCP")
    rows = {
        "tcp.md": [("", "TCP 연결", [1, 0, 0, 0]), ("ref", "https://a.com/tcp", [0, 1, 0, 0])],
        "casting.md": [("", "브로드캐스트", [0.6, 0, 1, 0]), ("ref", "https://a.com/cast", [0, 1, 0, 0])],
        "link.md": [("ref", "https://a.com/only", [0, 1, 0.1, 0])],
    }
    records, vectors = [], []
    for path, sections in rows.items():
        for anchor, text, vector in sections:
            records.append(SectionRecord(path, path, anchor or path, anchor, f"{path}#{anchor}", "", text, text))
            vectors.append(vector)
    array = np.array(vectors, dtype=np.float32)
    index = SectionIndex("m", records, array / np.linalg.norm(array, axis=1, keepdims=True))
    related = compute_related(index, count=5, threshold=-2)
    casting = next(item for item in related["tcp.md"] if item.target.path == "casting.md")
    assert (casting.target.anchor, casting.source_anchor) == ("", "")  # not the two reference lists
    only = next(item for item in related["tcp.md"] if item.target.path == "link.md")
    assert only.target.anchor == "ref"  # a note of nothing but an address meets others there


def test_a_note_with_no_text_neither_gets_nor_appears_in_lists() -> None:
    """A blog's section page (front matter only) or a note not written yet says nothing but its title."""
    rows = [("a.md", "a1", [1, 0, 0]), ("b.md", "b1", [1, 0.1, 0]), ("stub.md", "", [1, 0.05, 0])]
    vectors = np.array([vector for _, _, vector in rows], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = [_record("a.md", "a1"), _record("b.md", "b1")]
    records.append(SectionRecord("stub.md", "Kubernetes", "Kubernetes", "", "stub.md", "", "", "stub"))
    related = compute_related(SectionIndex("m", records, vectors), count=5, threshold=-2)
    assert "stub.md" not in related
    assert all(item.target.path != "stub.md" for items in related.values() for item in items)
    assert [item.target.path for item in related["a.md"]] == ["b.md"]
