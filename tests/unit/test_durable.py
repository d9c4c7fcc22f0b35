"""Durable file replacement (:mod:`harmony.durable`): whole, owner-only, nothing left behind on failure."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harmony.durable import atomic_write


def test_replaces_the_file_whole_and_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "signer"
    atomic_write(target, b"\x00first")
    atomic_write(target, "second ✓")  # text as UTF-8
    assert target.read_bytes() == "second ✓".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signer"]


def test_a_failed_replace_keeps_what_was_there_and_removes_its_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "keys"
    target.mkdir()  # a directory cannot be replaced by a file
    (target / "inside").write_bytes(b"kept")
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert (target / "inside").read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]


def test_a_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "file", b"x")
