"""Benchmark: wall time of evaluating the program under mocks per stack, beside import costs.

Run from the repo root: `.venv/bin/python -m benchmarks.program_eval [--runs N]`.
For each stack, `tests.stacks.run_stack(stack)` (an `up` with known values) and
`run_stack(stack, preview=True)` are timed in this process: one warm-up run, then the median
of N. For scale, the bare cost of `import pulumi` and `import pulumi_docker` is measured in fresh
interpreters (the time of `python -c "import X"` minus `python -c pass`, median of N), since in
this process those imports are already paid by the warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

from tests.stacks import run_stack

STACKS = ("dev", "stage", "prod", "ci")
IMPORTS = ("pulumi", "pulumi_docker")


def median_seconds(action: Callable[[], object], runs: int, *, warmup: bool) -> float:
    """Median wall time of `action` over `runs` calls, after one untimed call if `warmup`."""
    if warmup:
        action()
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def interpreter_seconds(code: str, runs: int) -> float:
    """Median wall time of a fresh `python -c code` (same interpreter, same sys.path)."""

    def spawn() -> None:
        subprocess.run([sys.executable, "-c", code], check=True)

    return median_seconds(spawn, runs, warmup=True)


def main(argv: list[str] | None = None) -> int:
    """Print one table of program evaluation times and one of import costs, in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (median)")
    runs = parser.parse_args(argv).runs

    print(f"program under mocks: median of {runs} runs after 1 warm-up, same process")
    print(f"{'stack':<8}{'resources':>10}{'up ms':>10}{'preview ms':>12}")
    for stack in STACKS:
        resources = len(run_stack(stack).resources)
        up = median_seconds(partial(run_stack, stack), runs, warmup=True)
        preview = median_seconds(partial(run_stack, stack, preview=True), runs, warmup=True)
        print(f"{stack:<8}{resources:>10}{up * 1000:>10.1f}{preview * 1000:>12.1f}")

    baseline = interpreter_seconds("pass", runs)
    print()
    print(f"fresh interpreter: median of {runs}; `python -c pass` = {baseline * 1000:.1f} ms")
    print(f"{'import':<16}{'total ms':>10}{'import ms':>11}")
    for module in IMPORTS:
        total = interpreter_seconds(f"import {module}", runs)
        print(f"{module:<16}{total * 1000:>10.1f}{(total - baseline) * 1000:>11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
