"""The source trees a testnet starts nodes from get their bytecode before the nodes start (issue 15)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from harmony.testnet.fleet import compile_builds


def test_each_tree_gets_the_bytecode_of_its_package_even_when_python_writes_none(tmp_path: Path) -> None:
    trees = [tmp_path / "a", tmp_path / "b"]
    for tree in trees:
        (tree / "harmony" / "node").mkdir(parents=True)
        (tree / "harmony" / "__init__.py").write_text("", encoding="utf-8")
        (tree / "harmony" / "node" / "runtime.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "b" / "harmony" / "broken.py").write_text("def (:\n", encoding="utf-8")
    compile_builds([*trees, trees[0], tmp_path / "missing"])
    for tree in trees:
        source = tree / "harmony" / "node" / "runtime.py"
        assert Path(importlib.util.cache_from_source(str(source))).is_file()
    broken = tmp_path / "b" / "harmony" / "broken.py"
    assert not Path(importlib.util.cache_from_source(str(broken))).exists()
