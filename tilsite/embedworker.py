"""Embed a few texts in a separate process, while the build goes on (``embeddings.PendingVectors``).

    python -m tilsite.embedworker REQUEST.json

The request holds ``texts``, their ``kind`` (``passage`` or ``query``) and the
model ``cache_dir`` (or null for the default). The vectors go to stdout as
little-endian float32 rows, one per text; a failure exits with status 1 and one
line on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tilsite.errors import TilsiteError


def main(argv: list[str] | None = None) -> int:
    """Run one request; return the exit status."""
    import numpy as np

    from tilsite.embeddings import BundledE5Model

    args = sys.argv[1:] if argv is None else argv
    try:
        if len(args) != 1:
            raise ValueError("usage: python -m tilsite.embedworker REQUEST.json")
        request_file = Path(args[0])
        request = json.loads(request_file.read_text(encoding="utf-8"))
        request_file.unlink()  # it holds note text; nothing should outlive an interrupted build
        if not isinstance(request, dict) or sorted(request) != ["cache_dir", "kind", "texts"]:
            raise ValueError(f"{args[0]}: not a request for vectors (texts, kind, cache_dir)")
        texts, kind, cache_dir = request["texts"], request["kind"], request["cache_dir"]
        if kind not in ("passage", "query") or not all(isinstance(text, str) for text in texts):
            raise ValueError(f"{args[0]}: not a request for vectors (texts, kind, cache_dir)")
        model = BundledE5Model(cache_dir=Path(cache_dir) if cache_dir else None)
        vectors = model.embed_batch(list(texts), kind)
    except (TilsiteError, OSError, ValueError, TypeError) as exc:
        print(f"tilsite.embedworker: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
