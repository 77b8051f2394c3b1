"""How a cost grows with size: the exponent the scaling benchmarks print."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

__all__ = ["slope"]


def slope(points: Sequence[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) over log(size): 1.0 is linear, 2.0 quadratic."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
