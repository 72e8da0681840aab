"""PNG charts of a chaos run: tick lateness over time with the faults marked; events per tick."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = ["#fde2e4", "#e2ece9", "#dfe7fd", "#fff1e6", "#eae4e9"]


def lateness_chart(path: Path, *, ours: list[tuple[float, float]], baseline: list[tuple[float, float]],
                   outcomes, origin: float) -> None:
    fig, ax = plt.subplots(figsize=(13, 5.5), dpi=110)
    for i, outcome in enumerate(o for o in outcomes if o.end > o.start and o.name != "ws_clients"):
        ax.axvspan((outcome.start - origin) / 60, (outcome.end - origin) / 60,
                   color=COLOURS[i % len(COLOURS)], zorder=0)
        ax.text((outcome.start - origin) / 60, 0.97, f" {outcome.name}", transform=ax.get_xaxis_transform(),
                fontsize=8, va="top")
        for fault in outcome.faults:
            ax.axvline((fault.at - origin) / 60, color="#c0392b", lw=0.6, alpha=0.6, zorder=1)
    ax.scatter([(t - origin) / 60 for t, _ in baseline], [max(v, 0.1) for _, v in baseline], s=3,
               color="#7f8c8d", label="asyncio call_at loop on the same grid (baseline)", zorder=2)
    ax.scatter([(t - origin) / 60 for t, _ in ours], [max(v, 0.1) for _, v in ours], s=4,
               color="#2c3e50", label="tick recorded (world.tick.completed)", zorder=3)
    ax.set_yscale("log")
    ax.set_xlabel("minutes since the run started (red lines: faults injected)")
    ax.set_ylabel("lateness after the due moment (ms, log)")
    ax.set_title("Tick lateness through the chaos experiments")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def events_chart(path: Path, per_tick: dict[int, int]) -> None:
    ticks = sorted(per_tick)
    fig, ax = plt.subplots(figsize=(13, 3.5), dpi=110)
    ax.bar(ticks, [per_tick[t] for t in ticks], width=1.0, color="#2c3e50")
    ax.set_xlabel("tick")
    ax.set_ylabel("events")
    ax.set_title("Events per tick (every stream); gaps are skipped ticks")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
