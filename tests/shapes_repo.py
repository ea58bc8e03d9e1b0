"""A TIL repository with the shapes real ones have and GitHub renders: moved image folders, HTML blocks around
Markdown, lists nested by 2 spaces, alerts, linked HTML files, and notes moved since they were written."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .messy_repo import png

NOTES = {
    "README.md": """# TIL

- [가상환경](sparta/DAY22_241031.md)
- [장고](sparta/DAY56_241124.md)
- [리베이스](https://github.com/me/TIL/blob/main/git/rebase.md#rebase-%EC%99%80-merge)
- [폼](<https://github.com/me/TIL/blob/main/FE/input.html>), [처음으로](https://github.com/Me/til/tree/main)
- [이슈](https://github.com/me/TIL/issues), [남의 노트](https://github.com/other/TIL/blob/main/git/rebase.md)
""",
    # The notes link /img/...: the folder was moved into sparta/ since (GitHub shows these broken).
    "sparta/DAY22_241031.md": """# DAY22 파이썬 가상환경

## venv 만들기

![구조도](/img/venv.png)

<img src="/img/pip.png" width="300">

## 패키지 설치

`pip install -r requirements.txt` 로 설치한다.
""",
    "sparta/DAY56_241124.md": """# DAY56 Django 시작

<details>
<summary>urls.py 정리</summary>
<div markdown="1">

### 1. **urls.py**

- `path()` 로 뷰를 연결한다
  - 앱마다 `include()` 로 나눈다

</div>
</details>

## 마무리

오늘은 여기까지.
""",
    # An unclosed <div>: GitHub renders the rest of the note all the same.
    "FE/layout.md": """# 레이아웃 정리

<div align="center">

![로고](./img/logo.png)

## Flex 정리

- 가로로 놓인다
  - `justify-content` 로 정렬한다
""",
    # A list right under a paragraph line, lists nested by 2 spaces, ordered lists with nested bullets.
    "git/commands.md": """# Git 명령어

오늘 배운 명령어:
- git add
  - 스테이징 영역에 올린다
- git commit
1. 첫째 단계
  - 하위 내용
2. 둘째 단계
3) 셋째 단계

> [!NOTE]
> `git status` 로 자주 확인한다.

- [x] 완료한 일
- [ ] 남은 일

~~틀린 내용~~ 은 지운다. 각주도 쓴다[^1]. 주소는 https://git-scm.com 이다.

[^1]: Pro Git 책 참고.

#해시태그 처럼 쓴 줄은 제목이 아니다.
""",
    # A link to an HTML file beside the note, and an image whose folder name changed (found by its name).
    "FE/form.md": """# 폼 만들기

[입력 예제](input.html) 를 브라우저로 열어 본다.

![폼](./images/form.png)
""",
    # Written in the root, moved into md/ since: its relative image link still means the root's folder.
    "md/http.md": """# HTTP 정리

![요청](http.assets/request.png)

## 상태 코드

200 은 성공, 404 는 없는 페이지.
""",
    # A hand-written outline first, then H1s for sections; a heading repeated, linked as GitHub numbers it.
    "spring/1-4 스프링 핵심 원리.md": """- [빈 등록](#빈-등록)
- [두 번째 참고](#참고-1)

# 참고

김영한 강의.

# 빈 등록

`@Bean` 으로 등록한다.

## 참고

스프링 문서.
""",
    # No heading: titled by its name, which holds `<T>`.
    "java/제네릭 <T> 정리.md": "`List<T>` 의 `T` 는 타입 매개변수다.\n",
    # An Obsidian Excalidraw drawing: compressed JSON, not a note.
    "drawings/map.excalidraw.md": """---
excalidraw-plugin: parsed
---
==⚠  Switch to EXCALIDRAW VIEW in the MORE OPTIONS menu of this document. ⚠==

# Text Elements
노드 ^9bKy8gqR

%%
# Drawing
```compressed-json
N4KAkARALgngDgUwgLgAQQQDwMYEMA2AlgCYBOuA7hADTgQBuCpAzoQPYB2KAbC
```
%%
""",
    "drawings/graph.view.md": "---\ntitle: 그래프\nexcalidraw-plugin: parsed\n---\n==⚠ Switch to EXCALIDRAW VIEW ⚠==\n",
    # A blog's post: its front matter names it, its first heading is a section's.
    "network/samba.md": (
        "---\ntitle: Samba (Windows <-> Linux)\ndate: 2024-05-02\ntags: [network, <윈도우>]\n---\n"
        "# Samba\n\n공유 폴더를 연다.\n"
    ),
    # A diagram, which GitHub draws; `<` and `&` in its text are the diagram's, not HTML.
    "git/flow.md": """# 브랜치 흐름

```mermaid
graph LR
  A[main] -->|branch & commit| B(<feature>)
  B --> C{merge}
```
""",
    # Raw tags GitHub shows as text: a script would run and swallow the page, a style restyle the site.
    "FE/script.md": """# 스크립트 로딩

- <script async> 와 <script defer> 차이
- 다음 항목

<style>
body { display: none }
</style>

끝 문단
""",
    "TIL_Git_n_Github_241016.md": """# Git 과 GitHub

원격 저장소에 push 한다 :tada: (`:tada:` 그대로)
""",
}

FILES = {
    "sparta/img/venv.png": png(1),
    "sparta/img/pip.png": png(2),
    "FE/img/logo.png": png(3),
    "FE/img2/form.png": png(4),
    "http.assets/request.png": png(5),
    "FE/input.html": b"<!doctype html><title>form</title><input name=q>",
    "FE/unlinked.html": b"<!doctype html><title>not linked</title>",
}

MOVED_NOTE = ("drafts/rebase.md", "git/rebase.md")
"""Written in 2024-09, moved in 2024-12: it is dated by the first commit."""
MOVED_TEXT = "# Rebase\n\n## rebase 와 merge\n\n`git rebase main` 으로 커밋을 옮긴다.\n"


def _commit(root: Path, message: str, date: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=root, check=True, capture_output=True, env=env)


def make_shapes_repo(root: Path, remote: str | None = None) -> Path:
    """Write the repository into ``root`` with a Git history (a note moved in a later commit), and ``remote``
    as its ``origin`` (its README links notes by their address on ``https://github.com/me/TIL`` too);
    return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True, capture_output=True)
    if remote:
        subprocess.run(["git", "remote", "add", "origin", remote], cwd=root, check=True)
    old = root / MOVED_NOTE[0]
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_text(MOVED_TEXT, encoding="utf-8")
    _commit(root, "first notes", "2024-09-03T12:00:00+09:00")
    for relative, text in NOTES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for relative, data in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    new = root / MOVED_NOTE[1]
    new.parent.mkdir(parents=True, exist_ok=True)
    old.rename(new)
    _commit(root, "more notes; move rebase into git/", "2024-12-20T12:00:00+09:00")
    return root
