"""What every benchmark shares: rows of the result table, medians, timers, the machine."""

from __future__ import annotations

import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import Settings

# A fixed master secret: no secret file is written and every run derives the same keys.
BENCH_SECRET = "5e" * 32


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the result table. Numbers are already formatted, with their unit."""

    benchmark: str
    measure: str
    ours: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"


@dataclass(slots=True)
class Result:
    """What one benchmark returns: its rows, and notes printed below the table."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


HEADER = ("Benchmark", "Measure", "Circlekeeper", "Baseline", "Ratio", "Target")


def render_table(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        cells = (row.benchmark, row.measure, row.ours, row.baseline, row.ratio, row.target)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    """Platform, CPU count and Python version, for the line above the table."""
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs ({platform.processor() or 'unknown'}), "
        f"Python {sys.version.split()[0]} ({platform.python_implementation()})"
    )


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered))  # 1-based
    return ordered[max(0, min(len(ordered), rank) - 1)]


def ms(seconds: float) -> str:
    """A duration, in ms below a second and in s above."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    value = seconds * 1000
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}" if baseline > 0 else "—"


def verdict(value: float, limit: float, *, at_most: bool) -> str:
    """A target cell: the limit and whether this run met it."""
    met = value <= limit if at_most else value >= limit
    sign = "≤" if at_most else "≥"
    return f"{sign} {limit:g}: {'met' if met else 'missed'}"


class Stopwatch:
    """Accumulates wall time over several `with watch:` blocks."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.total += time.perf_counter() - self._start


@contextmanager
def scratch_dir(prefix: str = "circlekeeper-bench-") -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


def bench_settings(folder: Path) -> Settings:
    """The bot's settings on a database in `folder`, syncing commands as simcord needs."""
    return Settings.from_env(
        {
            "DATABASE_PATH": str(folder / "circlekeeper.db"),
            "CIRCLEKEEPER_SECRET": BENCH_SECRET,
            "SYNC_COMMANDS": "true",
            "LOG_LEVEL": "WARNING",
        },
        base_dir=folder,
    )


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Keep INFO lines out of the benchmark's output; warnings and errors still show."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)
