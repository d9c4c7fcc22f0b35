"""The RSS split into heap and mapped files (harmony.ops.memory), from real and hostile status texts."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harmony.ops.memory import ResidentMemory, parse_status, resident_memory

STATUS = """Name:\tpython
VmRSS:\t  320000 kB
RssAnon:\t  170000 kB
RssFile:\t  149000 kB
RssShmem:\t    1000 kB
Threads:\t4
"""


def test_a_status_text_splits_into_heap_and_mapped_files() -> None:
    assert parse_status(STATUS) == ResidentMemory(anon=170000 * 1024, files=150000 * 1024)


def test_missing_or_malformed_lines_count_zero() -> None:
    assert parse_status("") == ResidentMemory(0, 0)
    assert parse_status("RssAnon:\t12 MB\nRssFile: -5 kB\nRssShmem: x kB\nRssAnon") == ResidentMemory(0, 0)
    assert parse_status("RssFile:\t7 kB\n") == ResidentMemory(0, 7 * 1024)


@given(st.text(max_size=2000))
def test_any_text_parses_to_counts_never_an_exception(text: str) -> None:
    memory = parse_status(text)
    assert memory.anon >= 0 and memory.files >= 0


def test_this_process_mapping_a_file_counts_it_as_mapped_not_heap(tmp_path: Path) -> None:
    before = resident_memory()
    assert before is not None and before.anon > 0
    path = tmp_path / "pages"
    path.write_bytes(os.urandom(8 * 2**20))
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mapped:
        touched = sum(mapped[offset] for offset in range(0, len(mapped), mmap.PAGESIZE))
        after = resident_memory()
    assert touched >= 0 and after is not None
    assert after.files - before.files >= 6 * 2**20  # the file's pages, now resident through the map


def test_a_process_that_is_gone_reads_as_none() -> None:
    assert resident_memory(2**22 + 12345) is None  # above the kernel's largest PID
