"""Benchmark: `delivery.redact.redact` on large hostile diagnostics, to see that time is linear.

Run from the repo root: `.venv/bin/python -m benchmarks.redact [--runs N]`.
Each shape is a text built to make a backtracking pattern re-scan what it already read (long
runs of name characters, repeated "://", keys with a secret word in every position, a secret
word with no separator, endless quoted values). Sizes double from 50,000 to 400,000 characters;
for linear time, the time per character stays about the same down each column. Before the
patterns were made linear, a 200,000-character run of letters took about a minute.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from benchmarks.program_eval import median_seconds
from delivery.redact import redact

SIZES = (50_000, 100_000, 200_000, 400_000)
SHAPES: dict[str, Callable[[int], str]] = {
    "letters": lambda n: "a" * n,
    "scheme runs": lambda n: ("abc" * (n // 3)) + "://",
    "repeated ://": lambda n: "a://b:" * (n // 6),
    "secret words": lambda n: "password" * (n // 8),
    "word, no separator": lambda n: ("x" * 60 + "token ") * (n // 66),
    "open quote": lambda n: 'password="' + "a" * n,
    "many pairs": lambda n: "password=abc " * (n // 13),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per cell (median)")
    runs = parser.parse_args().runs
    print(f"{'shape':<20}" + "".join(f"{size:>16,}" for size in SIZES))
    for name, build in SHAPES.items():
        cells = []
        for size in SIZES:
            text = build(size)
            seconds = median_seconds(lambda text=text: redact(text), runs, warmup=False)
            cells.append(f"{seconds * 1000:8.1f} ms {seconds / len(text) * 1e9:4.0f}ns")
        print(f"{name:<20}" + "".join(f"{cell:>16}" for cell in cells))
    print("(each cell: median time, and time per character)")


if __name__ == "__main__":
    main()
