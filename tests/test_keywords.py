from __future__ import annotations

from tilsite.results.keywords import KeywordRanker, tokenize
from tilsite.results.search import fuse


def test_hangul_becomes_bigrams_and_ascii_stays_whole() -> None:
    assert tokenize("과적합을 막는 state_dict") == ["과적", "적합", "합을", "막는", "state_dict", "state", "dict"]


def test_single_hangul_syllable_is_kept() -> None:
    assert tokenize("몸 GPT-4o") == ["몸", "gpt-4o", "gpt", "4o"]


def test_bigrams_match_across_particles() -> None:
    ranker = KeywordRanker(["과적합이 생기면 검증 손실이 오른다", "웹 서버 설정", "Django 프로젝트"])
    ranked = ranker.rank("과적합을 막는 법", 3)
    assert ranked[0][0] == 0
    assert all(position != 1 for position, _ in ranked)


def test_no_terms_no_scores() -> None:
    assert KeywordRanker(["abc"]).rank("!!!", 5) == []


def test_reciprocal_rank_fusion_weights() -> None:
    fused = fuse([([1, 2], 1.0), ([2, 3], 0.5)], k=60)
    assert fused[2] > fused[1] > fused[3]
    assert abs(fused[1] - 1 / 61) < 1e-12
