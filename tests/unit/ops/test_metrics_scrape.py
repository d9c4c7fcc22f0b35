"""``GET /metrics`` without rendering on the HTTP path: a regular scraper's next scrape is rendered by the
tick just before it is due, served once and only while fresh; a first or irregular scrape renders now."""

from __future__ import annotations

from pathlib import Path

from harmony.ops.metrics import MAX_AGE, MetricsExporter
from tests.unit.ops.test_server import _service


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _exporter(tmp_path: Path) -> tuple[MetricsExporter, Clock, list[float]]:
    service = _service(tmp_path)
    clock = Clock()
    renders: list[float] = []
    exporter = MetricsExporter(service.snapshot, clock=clock)
    plain = exporter.render

    def counted() -> bytes:
        renders.append(clock.now)
        return plain()

    exporter.render = counted  # type: ignore[method-assign]
    return exporter, clock, renders


def test_a_regular_scraper_gets_a_rendering_prepared_ahead(tmp_path: Path) -> None:
    exporter, clock, renders = _exporter(tmp_path)
    exporter.prepare()  # nobody scraped yet: nothing to prepare
    assert renders == []
    body = exporter.scrape()  # the first scrape renders at once
    assert b"hmy_chain_head_height" in body and renders == [100.0]
    for second in range(1, 15):  # ticks; the scraper's interval is not known yet
        clock.now = 100.0 + second
        exporter.prepare()
    assert len(renders) == 1
    clock.now = 115.0
    exporter.scrape()  # second scrape: still rendered now, and now the interval (15 s) is known
    assert renders[-1] == 115.0 and len(renders) == 2
    for second in range(1, 15):
        clock.now = 115.0 + second
        exporter.prepare()
    assert renders[2:] == [129.0]  # the first tick within 1.5 s of the due time (130 s)
    prepared_at = renders[-1]
    clock.now = 130.0
    assert b"hmy_chain_head_height" in exporter.scrape()
    assert renders[-1] == prepared_at and 130.0 - prepared_at <= MAX_AGE  # served what the tick rendered


def test_a_stale_or_served_rendering_is_never_served(tmp_path: Path) -> None:
    exporter, clock, renders = _exporter(tmp_path)
    exporter.scrape()
    clock.now += 10
    exporter.scrape()  # interval 10 s
    clock.now += 9
    exporter.prepare()  # due in 1 s: prepared
    assert len(renders) == 3
    clock.now += MAX_AGE + 5  # the scrape comes late: the prepared rendering is too old
    exporter.scrape()
    assert len(renders) == 4 and renders[-1] == clock.now
    # a scraper that stopped: at most one rendering ahead, then none
    for _ in range(100):
        clock.now += 1
        exporter.prepare()
    assert len(renders) <= 5
