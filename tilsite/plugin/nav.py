"""The navigation MkDocs makes from the folders, made lighter for repositories of many small folders."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mkdocs.structure.nav import Section
from mkdocs.structure.pages import Page

if TYPE_CHECKING:
    from mkdocs.structure import StructureItem


def unwrap_single_pages(items: list[StructureItem], parent: Section | None = None) -> list[StructureItem]:
    """``items`` with every folder that holds a single page (``1000. A+B/README.md``) shown as that page.

    Repositories of solved problems keep each in a folder of its own; as sections, each costs
    a toggle, a label and a list in the navigation that every page carries (700 bytes instead
    of 200), and a reader one more click.
    """
    unwrapped: list[StructureItem] = []
    for item in items:
        if isinstance(item, Section):
            item.children = unwrap_single_pages(item.children, item)
            if len(item.children) == 1 and isinstance(item.children[0], Page):
                item = item.children[0]
        item.parent = parent
        unwrapped.append(item)
    return unwrapped
