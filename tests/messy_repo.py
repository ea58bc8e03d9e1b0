"""A TIL repository shaped like real ones: notes beside README.md, odd file names, notebooks, stray files."""

from __future__ import annotations

import json
import struct
import subprocess
import zlib
from pathlib import Path


def png(seed: int) -> bytes:
    """A valid 2x2 PNG, different for each ``seed``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([seed % 256, 80, 160] * 2) for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


IMAGES = ["img/diagram 1.png", "img/a:b.png", "img/x<y.png", "img/그림(1).png", "img/plain.png", "ml/img/local.png"]

NOTES = {
    "README.md": """# 나의 TIL

매일 배운 것을 기록합니다.

- [Day 22: 파이썬 가상환경](sparta/DAY22_241031.md)
- [Day 56: Django 프로젝트](sparta/DAY56_241124.md#project-생성하기)
- [CSS 정리](FE/HTML+CSS+JS/CSS.md)
- [JavaScript 기초](FE/HTML+CSS+JS/JS.MD)
- [과적합 실습 노트북](ml/overfit.ipynb)
- [Overfitting TIL](ml/250526_TIL.md)
""",
    "sparta/DAY22_241031.md": """# DAY22 파이썬 가상환경

## venv 만들기

- `python -m venv .venv` 로 가상환경을 만든다
    - 활성화: `source .venv/bin/activate`
        - Windows 에서는 `Scripts\\activate`

![구조도](/img/diagram%201.png)

## 패키지 설치

`pip install -r requirements.txt` 로 의존성을 설치한다.
다음 날에는 [Django 프로젝트 생성](DAY56_241124.md#project-생성하기)을 했다.
""",
    "sparta/DAY56_241124.md": """# DAY56 Django 시작

## Project 생성하기

`django-admin startproject config .` 로 프로젝트를 만든다.

![화면](/img/a:b.png)

## App - Model - View 흐름

모델과 뷰를 연결한다. 자세한 것은 [앞 섹션](#app---model---view-흐름) 참고.
""",
    "FE/HTML+CSS+JS/CSS.md": """# CSS 정리

## Flexbox

`display: flex` 로 정렬한다.

![flex](../../img/x%3Cy.png)
![박스](<../../img/그림(1).png>)

## Grid

`grid-template-columns` 로 열을 나눈다. [JS 노트](JS.MD) 도 보자.
""",
    "FE/HTML+CSS+JS/JS.MD": """# JavaScript 기초

## 변수 선언

`let` 과 `const` 의 차이. 스타일은 [CSS 노트](CSS.md#flexbox) 에 있다.

![plain](/img/plain.png)
""",
    "ml/250526_TIL.md": """---
title: Overfitting TIL
---

# 과적합 줄이기

## 정규화

Dropout 과 weight decay 로 과적합을 막는다. 실습은 [노트북](overfit.ipynb) 에.

![local](./img/local.png)

## 검증

검증 손실이 오르면 early stopping. [없는 노트](missing-note.md) 로 가는 링크는 보고된다.
""",
}

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# 과적합 실습\n", "\n", "## 데이터 준비\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "source": ["# 학습 데이터를 나눈다\n", "x_train, x_val = split(data)"],
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["train 800 val 200\n"]}],
        },
        {"cell_type": "markdown", "metadata": {}, "source": "## Dropout 적용\n\n드롭아웃으로 과적합을 줄인다."},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 2,
            "source": "model.add(Dropout(0.5))",
            "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}}],
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

STRAY = {
    ".DS_Store": b"\x00\x00\x00\x01Bud1\x00",
    "FE/old.html": b"<html><body>old export</body></html>",
    "ml/train.py": b"print('train')\n",
    "ml/data.csv": b"a,b\n1,2\n",
    "ml/model.pkl": b"\x80\x04\x95\x00",
}


def make_repo(root: Path, git: bool = True) -> Path:
    """Write the repository into ``root`` (and commit it when ``git``); return ``root``."""
    for relative, text in NOTES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "ml/overfit.ipynb").write_text(json.dumps(NOTEBOOK, ensure_ascii=False), encoding="utf-8")
    legacy = "# 인코딩 메모\n\n## 한글 깨짐\n\ncp949 로 저장된 노트.\n"
    (root / "sparta/DAY30_인코딩.md").write_bytes(legacy.encode("cp949"))
    for seed, relative in enumerate(IMAGES):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png(seed))
    for relative, data in STRAY.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if git:
        run = {"cwd": root, "check": True, "capture_output": True}
        subprocess.run(["git", "init", "-q", "-b", "main"], **run)  # type: ignore[call-overload]
        subprocess.run(["git", "add", "-A"], **run)  # type: ignore[call-overload]
        env = {
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "GIT_AUTHOR_DATE": "2024-09-01T12:00:00+09:00",
            "GIT_COMMITTER_DATE": "2024-09-01T12:00:00+09:00",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        }
        subprocess.run(["git", "commit", "-q", "-m", "notes"], env=env, **run)  # type: ignore[call-overload]
    return root
