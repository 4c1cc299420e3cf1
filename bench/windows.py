"""What the benchmarks measure of a stream of sends: the busiest one-second window."""

from __future__ import annotations


def busiest(times: list[float]) -> int:
    """The most events in any one-second window (the strict window Telegram and MAX count in)."""
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best
