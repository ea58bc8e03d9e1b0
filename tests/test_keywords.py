from __future__ import annotations

from tilsite.results.keywords import KeywordRanker, tokenize
from tilsite.results.search import fuse


def test_hangul_becomes_bigrams_and_ascii_stays_whole() -> None:
    # A bag of terms: their order is not the text's.
    expected = ["과적", "적합", "합을", "막는", "state_dict", "state", "dict"]
    assert sorted(tokenize("과적합을 막는 state_dict")) == sorted(expected)


def test_single_hangul_syllable_is_kept() -> None:
    assert sorted(tokenize("몸 GPT-4o")) == sorted(["몸", "gpt-4o", "gpt", "4o"])


def test_joined_tokens_give_their_parts_once_each() -> None:
    terms = tokenize("node.js c++ a-b-c x_-y 3.14 e-mail_x ab.cd.")
    expected = ["node.js", "node", "js", "c", "a-b-c", "a", "b", "c", "x", "y", "3.14", "3", "14"]
    expected += ["e-mail_x", "e", "mail", "x", "ab.cd", "ab", "cd"]
    assert sorted(terms) == sorted(expected)


def test_keyword_vectors_are_tfidf_cosines() -> None:
    import numpy as np

    from tilsite.results.keywords import keyword_terms, keyword_vectors

    documents = ["pytest fixtures tmp_path", "pytest fixtures monkeypatch", "sourdough bread starter", ""]
    vectors = keyword_vectors(documents)
    similarities = vectors @ vectors.T
    assert similarities[0, 1] > 0.2 and abs(similarities[0, 2]) < 1e-6
    assert np.allclose(np.diag(similarities)[:3], 1.0, atol=1e-5) and not vectors[3].any()
    columns, weights = keyword_terms(documents)
    for row in range(3):  # every column of a row is listed once
        used = columns[row][weights[row] > 0]
        assert len(set(used.tolist())) == len(used)


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


def test_a_term_in_the_first_column_counts() -> None:
    from tilsite.results.keywords import _bucket, keyword_vectors

    assert _bucket("ebi") == 0  # the column the rows' padding used to overwrite
    vectors = keyword_vectors(["ebi apple", "ebi banana"])
    assert float(vectors[0] @ vectors[1]) > 0.2


def test_term_counts_are_the_tokenizers_terms_counted() -> None:
    """``term_counts`` finds Hangul/CJK terms in all documents at once: the same terms as ``tokenize`` finds
    document by document, at the script ranges' edges, across line breaks and at the documents' ends."""
    from collections import Counter

    import numpy as np

    from tilsite.results.keywords import term_counts

    rng = np.random.default_rng(3)
    alphabet = [*"가힣ㄱㆎ一鿿ぁヿ\u3130\u318f\u3039\u3100\uabff\ud7a4 \n.-_aZ9#+", "İ", "\udc80", "😀", "Ａ"]
    documents = ["".join(rng.choice(alphabet, size=int(rng.integers(0, 30)))) for _ in range(400)]
    documents += ["", "가", "가나", "state_dict 과적합을", "一"]
    vocabulary, rows, terms, seen = term_counts(documents)
    names = {number: term for term, number in vocabulary.items()}
    found: list[Counter[str]] = [Counter() for _ in documents]
    for row, term, times in zip(rows.tolist(), terms.tolist(), seen.tolist(), strict=True):
        assert term not in found[row]  # each (document, term) pair once
        found[row][names[term]] = times
    assert found == [Counter(tokenize(document)) for document in documents]
    assert term_counts([])[0] == {} and len(term_counts([])[1]) == 0
