#!/usr/bin/env python3
"""A PNG bar chart of a benchmark run: seconds per scenario and variant, one panel per set.

    python3 benchmarks/chart.py benchmarks/results/<run>.json   (writes <run>.png next to it)

run.py calls it with --chart. Bars are medians; the thin lines show min–max over the runs.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

SCENARIOS = (("cold", "cold"), ("noop", "no-op"), ("noop_window", "no-op,\nnew index window"), ("onepin", "one pin"),
             ("fresh", "fresh builder,\none pin"))
COLORS = {"pip": "#9e9e9e", "pip-cache": "#616161", "uv": "#de7b2e", "pylayers": "#2e6fde"}


def write_chart(raw: dict[str, dict[str, list[dict]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(raw), figsize=(6.5 * len(raw), 4.2), squeeze=False)
    for ax, (set_name, variants) in zip(axes[0], raw.items()):
        variants = {v: runs for v, runs in variants.items() if runs and "cold" in runs[0]}  # not the floor
        width = 0.8 / len(variants)
        scenarios = [(key, label) for key, label in SCENARIOS  # earlier runs measured fewer
                     if all(r.get(key, -1) >= 0 for runs in variants.values() for r in runs)]
        for i, (variant, runs) in enumerate(variants.items()):
            xs = [s + (i - (len(variants) - 1) / 2) * width for s in range(len(scenarios))]
            values = [[r[key] for r in runs] for key, _ in scenarios]
            meds = [statistics.median(v) for v in values]
            ax.bar(xs, meds, width, label=variant, color=COLORS.get(variant))
            ax.vlines(xs, [min(v) for v in values], [max(v) for v in values], colors="black", linewidth=0.8)
            for x, med in zip(xs, meds):
                ax.text(x, med, f"{med:.1f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(scenarios)), [label for _, label in scenarios])
        ax.set_ylabel("seconds (median; lines: min–max)")
        ax.set_title(f"{set_name} packages")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    source = Path(sys.argv[1])
    write_chart(json.loads(source.read_text()), source.with_suffix(".png"))
    print(source.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
