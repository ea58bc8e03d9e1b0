"""Files written atomically and checked without reading them twice."""

from __future__ import annotations

from pathlib import Path


def test_recorded_hashes_are_reused_only_while_the_file_is_unchanged(tmp_path: Path, monkeypatch) -> None:
    import hashlib

    from tilsite import files

    weights, records = tmp_path / "weights.bin", tmp_path / "models" / files.HASH_RECORDS
    weights.write_bytes(b"a" * 4096)
    hashed: list[Path] = []
    real = files.file_sha256

    def counting(path: Path) -> str:
        hashed.append(path)
        return real(path)

    monkeypatch.setattr(files, "file_sha256", counting)
    # Just written: hashed every time and not recorded, since a second write could keep its times.
    assert files.recorded_sha256(weights, records) == hashlib.sha256(b"a" * 4096).hexdigest()
    assert not records.exists()
    monkeypatch.setattr(files, "_RACY_SECONDS", -1.0)
    files.recorded_sha256(weights, records)
    assert files.recorded_sha256(weights, records) == hashlib.sha256(b"a" * 4096).hexdigest()
    assert len(hashed) == 2  # the second check read the record, not the file
    weights.write_bytes(b"b" * 4096)  # same size
    assert files.recorded_sha256(weights, records) == hashlib.sha256(b"b" * 4096).hexdigest()
    assert len(hashed) == 3
    records.write_text("not json", encoding="utf-8")
    assert files.recorded_sha256(weights, records) == hashlib.sha256(b"b" * 4096).hexdigest()
