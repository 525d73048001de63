"""Result tables of the benchmarks kept as CSV files merged by a key: a rerun of a configuration
replaces its row, other rows stay (bench_pauli.py, bench_ranks.py)."""
from __future__ import annotations

import csv
from pathlib import Path


def load_keyed(path: Path, key: tuple[str, ...]) -> dict:
    """The rows of ``path`` (none if it does not exist) by the tuple of their ``key`` columns."""
    rows = {}
    if path.exists():
        with open(path) as fh:
            for r in csv.DictReader(fh):
                rows[tuple(r[k] for k in key)] = r
    return rows


def save_keyed(path: Path, rows: dict, fields: list[str], order) -> None:
    """Write ``rows`` (as :func:`load_keyed` returns them) to ``path`` with the columns
    ``fields``, sorted by ``order(key)``."""
    path.parent.mkdir(exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for k in sorted(rows, key=order):
            w.writerow(rows[k])
