"""A reproducible synthetic TIL corpus: mixed Korean/English notes with realistic section lengths.

Each note picks a topic, a handful of headings and list-style sentences built
from that topic's vocabulary, so that related notes by meaning exist (same
topic) and sections vary in length like real notes (1-12 lines, some code).
"""

from __future__ import annotations

import random
from pathlib import Path

TOPICS = {
    "ml": (
        [
            "과적합",
            "드롭아웃",
            "정규화",
            "학습률",
            "경사 하강법",
            "검증 손실",
            "배치 크기",
            "임베딩",
            "어텐션",
            "교차 검증",
        ],
        ["overfitting", "dropout", "weight decay", "learning rate", "optimizer", "validation loss", "batch size"],
    ),
    "web": (
        ["라우팅", "템플릿", "세션", "쿠키", "상태 코드", "비동기 요청", "레이아웃", "미들웨어", "폼 검증", "배포"],
        ["Django", "HTTP", "REST API", "flexbox", "async/await", "fetch", "CORS", "nginx"],
    ),
    "git": (
        ["브랜치", "병합", "충돌 해결", "리베이스", "커밋 메시지", "원격 저장소", "태그", "스테이징", "되돌리기"],
        ["git merge", "git rebase", "pull request", "cherry-pick", "stash", ".gitignore", "HEAD"],
    ),
    "python": (
        [
            "가상환경",
            "제너레이터",
            "데코레이터",
            "컴프리헨션",
            "예외 처리",
            "타입 힌트",
            "패키지",
            "테스트",
            "파일 입출력",
        ],
        ["venv", "pip", "pytest", "dataclass", "pandas", "numpy", "typing", "asyncio"],
    ),
    "data": (
        ["결측치", "정규화", "시각화", "집계", "조인", "인덱스", "쿼리 최적화", "스키마", "전처리"],
        ["SQL", "groupby", "merge", "matplotlib", "DataFrame", "index", "EXPLAIN", "parquet"],
    ),
}
VERBS_KO = [
    "를 정리했다",
    "의 원리를 알게 됐다",
    "를 직접 써봤다",
    "에서 자주 하는 실수",
    "를 비교해봤다",
    "가 왜 필요한지",
]
VERBS_EN = ["works by", "is useful when", "breaks if", "compares to", "needs care with", "is configured via"]
CONNECT_KO = ["그리고", "하지만", "그래서", "예를 들어", "특히", "반면에"]


def _sentence(rng: random.Random, topic: str, korean: bool) -> str:
    words_ko, words_en = TOPICS[topic]
    if korean:
        return (
            f"{rng.choice(CONNECT_KO)} {rng.choice(words_ko)}{rng.choice(VERBS_KO)}:"
            f" {rng.choice(words_en)} 와 {rng.choice(words_ko)} 관계를 {rng.randint(2, 9)}가지로 나눠 봄"
        )
    return (
        f"{rng.choice(words_en).capitalize()} {rng.choice(VERBS_EN)} {rng.choice(words_en)}"
        f" and {rng.choice(words_en)}, step {rng.randint(1, 9)}."
    )


def _section(rng: random.Random, topic: str, korean: bool) -> list[str]:
    words_ko, words_en = TOPICS[topic]
    heading = rng.choice(words_ko) if korean else rng.choice(words_en).capitalize()
    lines = [f"## {heading} {rng.choice(['정리', '기초', '실습', 'notes', 'tips'])}", ""]
    for _ in range(rng.randint(1, 10)):
        prefix = rng.choice(["* ", "* ", "  * ", ""])
        lines.append(prefix + _sentence(rng, topic, korean))
    if rng.random() < 0.25:
        lines += ["", "```python", f"# {rng.choice(words_ko)} 예시", f"value = {rng.randint(1, 99)}", "```"]
    lines.append("")
    return lines


def write_corpus(docs_dir: Path, count: int, seed: int = 7) -> list[Path]:
    """Write ``count`` notes below ``docs_dir`` (deterministic for a seed); return their paths."""
    rng = random.Random(seed)
    paths = []
    topics = sorted(TOPICS)
    for number in range(count):
        topic = topics[number % len(topics)]
        korean = rng.random() < 0.7
        folder = docs_dir / topic
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"DAY{number:04d}_{240101 + number % 28:06d}.md"
        words_ko, words_en = TOPICS[topic]
        title = f"{number}일차 TIL: {rng.choice(words_ko)}" if korean else f"TIL {number}: {rng.choice(words_en)}"
        lines = [f"# {title}", ""]
        for _ in range(rng.randint(3, 8)):
            lines += _section(rng, topic, korean)
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    (docs_dir / "index.md").write_text("# Synthetic TIL\n\nGenerated notes for benchmarks.\n", encoding="utf-8")
    return paths
