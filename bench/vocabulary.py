"""Rank the tokenizer's English/ASCII pieces by how often technical English text uses them.

    python bench/vocabulary.py        # writes tilsite/data/common_pieces.txt

The browser model keeps every Hangul piece but only part of the 83,000 ASCII
pieces, and the tokenizer's own scores rank them poorly for English: they are
log-probabilities over 100 languages, so `▁memory` or `▁login` rank below
tens of thousands of pieces of other Latin-script languages. This script
tokenises a body of technical English found on this machine -- the docstrings
and comments of Python's standard library, and the descriptions and READMEs
of the installed Python and npm packages -- and writes the ASCII pieces in
order of use. The list is committed, so builds do not depend on the machine.
"""

from __future__ import annotations

import io
import sys
import sysconfig
import tokenize
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

OUT = ROOT / "tilsite" / "data" / "common_pieces.txt"
LIMIT = 30_000


def python_prose(path: Path) -> list[str]:
    """Docstrings and comments of one Python file."""
    try:
        source = path.read_text(encoding="utf-8")
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (OSError, UnicodeDecodeError, SyntaxError, tokenize.TokenError):
        return []
    texts = []
    for token in tokens:
        if token.type == tokenize.COMMENT:
            texts.append(token.string.lstrip("#").strip())
        elif token.type == tokenize.STRING and token.string.endswith(('"""', "'''")):
            texts.append(token.string.strip("\"'rbuf"))
    return texts


def corpus() -> list[str]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    for path in sorted(stdlib.rglob("*.py")):
        if "site-packages" in path.parts or "test" in path.parts or "tests" in path.parts:
            continue
        texts += python_prose(path)
    purelib = Path(sysconfig.get_paths()["purelib"])
    documents = sorted(purelib.glob("*.dist-info/METADATA")) + sorted((ROOT / "node_modules").rglob("README.md"))
    for path in documents:
        texts += path.read_text(encoding="utf-8", errors="replace").split("\n\n")
    return [text for text in texts if text.isascii() and len(text) > 2 and not _shouting(text)]


def _shouting(text: str) -> bool:
    """Mostly capitals: Unicode character names and constant tables, not prose."""
    letters = [char for char in text if char.isalpha()]
    return sum(char.isupper() for char in letters) > len(letters) / 2


def main() -> None:
    from tokenizers import Tokenizer

    from tilsite.model.store import TOKENIZER_FILE, ModelStore

    texts = corpus()
    tokenizer = Tokenizer.from_file(str(ModelStore().ensure() / TOKENIZER_FILE))
    counts: Counter[str] = Counter()
    for start in range(0, len(texts), 2000):
        for encoding in tokenizer.encode_batch(texts[start : start + 2000], add_special_tokens=False):
            counts.update(encoding.tokens)
    pieces = [piece for piece, seen in counts.most_common() if seen >= 2 and len(piece.lstrip("\u2581")) > 1]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(pieces[:LIMIT]) + "\n", encoding="utf-8")
    print(f"{len(texts):,} texts, {sum(counts.values()):,} pieces; wrote {min(LIMIT, len(pieces)):,} to {OUT}")


if __name__ == "__main__":
    main()
