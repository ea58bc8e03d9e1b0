"""The navigation MkDocs makes from the folders, made lighter for repositories of many small folders."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from mkdocs.structure.nav import Section
from mkdocs.structure.pages import Page

if TYPE_CHECKING:
    from mkdocs.structure import StructureItem


def unwrap_single_pages(items: list[StructureItem], parent: Section | None = None) -> list[StructureItem]:
    """``items`` with every folder that holds a single page shown as that page, where the folder's name adds nothing.

    Repositories of solved problems keep each in a folder of its own (``1000. A+B/README.md``);
    as sections, each costs a toggle, a label and a list in the navigation that every page
    carries (700 bytes instead of 200), and a reader one more click. The folder's name adds
    nothing when its page is its index, or when the page's file name already says it
    (``Python/Python.md``, ``3/8/3-8_media.md``). Otherwise it says what the page is about
    (``실습/with.md``, ``Network/ssh-tunneling.md``), and the folder stays.
    """
    unwrapped: list[StructureItem] = []
    for item in items:
        if isinstance(item, Section):
            item.children = unwrap_single_pages(item.children, item)
            only = item.children[0] if len(item.children) == 1 else None
            if isinstance(only, Page) and _names_its_folder(only):
                item = only
        item.parent = parent
        unwrapped.append(item)
    return unwrapped


def _names_its_folder(page: Page) -> bool:
    """Whether ``page`` is its folder's index, or its file name holds its folder's name."""
    path = PurePosixPath(page.file.src_uri)
    folder, stem = _letters_and_digits(path.parent.name), _letters_and_digits(path.stem)
    return page.is_index or (bool(folder) and folder in stem)


def _letters_and_digits(name: str) -> str:
    return "".join(character for character in name.casefold() if character.isalnum())
