"""Passages of long sections: the prose a section has beyond the model's window, embedded in windows of its own.

A section is embedded as one text (``Section.embedding_text``), and the model reads
its first 256 tokenizer pieces only. Long notes -- a day's lecture written up under
one heading -- keep most of what they say further down. So a section longer than
the window also gets passages: its prose after the window, code blocks left out
(questions are asked in words, and code is what makes sections long), cut into
windows of the model's length, each starting with the section's ``note title >
heading path``. Search scores a section by the best of its own vector and its
passages' (``tilsite.results.search``, and the same in the browser); related notes
and topics use the sections' own vectors.

Measured on the development sets of bench/quality.md: 0h328/TIL's Korean
questions hit@5 0.908 → 0.969 (with the keyword weight then lowered to 0.3);
nyum76/TIL (shorter sections) 0.920 either way. Windows that overlap, or at most
one to three passages per section, gained less. A first build embeds what the
prose costs: about twice as much on simonw/til's long English write-ups.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tilsite.notes.parsing import code_spans

if TYPE_CHECKING:
    from tilsite.model.models import EmbeddingModel
    from tilsite.notes.sections import Section

PASSAGES_VERSION = 1
"""Bump when the way passages are cut changes: their cached vectors are then made again."""
MOST = 32
"""Passages of one section at most (about 8,000 pieces of prose: a whole chapter pasted into a note)."""
_MARGIN = 2
"""Pieces left free in each window: a passage that starts inside a word may take a piece more."""


def passage_key(text_hash: str) -> str:
    """The embedding cache's key for the passages of the section whose embedded text has ``text_hash``."""
    return f"passages-{PASSAGES_VERSION}:{text_hash}"


def passage_texts(sections: list[Section], model: EmbeddingModel) -> list[list[str]]:
    """The passages to embed for each of ``sections`` (none for most: only sections longer than the window)."""
    found: list[list[str]] = [[] for _ in sections]
    window = model.window()
    if window <= 0 or not sections:
        return found
    texts = [section.embedding_text for section in sections]
    # A piece covers a character at least (rare normalisations aside), so shorter texts fit the window.
    candidates = [position for position, text in enumerate(texts) if len(text) > window // 2]
    rests: list[tuple[int, str]] = []
    for position, spans in zip(candidates, model.piece_spans([texts[p] for p in candidates]), strict=True):
        if len(spans) <= window:
            continue
        section = sections[position]
        cut = spans[window - 1][1] - (len(section.header) + 1)  # where the model stopped, in the section's source
        prose = prose_after(section.source, max(cut, 0))
        if prose:
            rests.append((position, prose))
    if not rests:
        return found
    spans_of = model.piece_spans([sections[p].header for p, _ in rests] + [prose for _, prose in rests])
    for number, (position, prose) in enumerate(rests):
        header = sections[position].header
        # A header longer than half the window is cut by the model anyway; the prose still gets half of it.
        room = max(window - len(spans_of[number]) - _MARGIN, window // 2)
        pieces = spans_of[len(rests) + number]
        for start in range(0, len(pieces), room)[:MOST]:
            chunk = prose[pieces[start][0] : pieces[min(start + room, len(pieces)) - 1][1]].strip()
            if chunk:
                found[position].append(f"{header}\n{chunk}")
    return found


def prose_after(source: str, offset: int) -> str:
    """The Markdown of ``source`` from ``offset`` on, less its code blocks (a block the offset falls in too)."""
    parts: list[str] = []
    position = offset
    for start, end in code_spans(source):
        if end <= position:
            continue
        if start > position:
            parts.append(source[position:start])
        position = max(position, end)
    parts.append(source[position:])
    lines = [line for line in "\n".join(parts).split("\n") if line.strip()]
    return "\n".join(lines).strip()
