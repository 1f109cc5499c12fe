"""The memory figure: the peak RSS of the separate process that ran the updates benchmark.

``python -m bench`` runs every benchmark in a child process of its own; the updates child
reports its own peak resident set size (``VmHWM``, see :func:`bench.common.peak_rss_mb`) once
both the echo floor and the real bot have run (finished chats are dropped from the sandbox as
they end, see :func:`bench.updates.forget_chat`). :func:`from_updates` turns that into the
``memory`` result: ``peak_rss_mb``, or ``None`` while the updates benchmark could not run the
real bot (the echo floor alone says nothing about the bot's footprint).
"""

from __future__ import annotations

from bench.common import BenchResult, empty

KEYS = ("peak_rss_mb",)


def from_updates(updates: BenchResult, scale: float) -> BenchResult:
    """The memory result read from the updates benchmark's child process."""
    peak = updates.extra.get("peak_rss_mb")
    if updates.status != "ok" or peak is None:
        note = f"waiting for the updates benchmark ({updates.status})"
        if peak is not None:
            note += f"; its process peaked at {peak} MB"
        return empty("memory", KEYS, "waiting", note)
    note = "peak RSS (VmHWM) of the process that ran the updates benchmark"
    if scale != 1.0:
        note += f", at scale {scale:g} (the goal is for the full scale)"
    return BenchResult(name="memory", figures={"peak_rss_mb": float(peak)}, note=note)
