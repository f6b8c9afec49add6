#!/usr/bin/env python3
"""Draw the reload-under-load benchmark as a picture: one panel per server, stacked.

bench/reload.py calls this after a run; it can also redraw a result file::

    python bench/plot_reload.py bench/results/reload-20261128T223756Z.json
    python bench/plot_reload.py RESULT.json --output /tmp/reload.png

Each panel is one server's last run: answers completed per 100 ms (the filled area,
left axis, as answers per second), the p99 and the slowest latency of the answers
completed in each 100 ms (lines, right axis, logarithmic), a dashed line at every
change of the script and a red mark where connection errors happened. All panels
share their scales, so a stall or a latency spike compares at a glance: wsgihost
first, each peer under it. Needs matplotlib (the ``bench`` extra), nothing else.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RATE_COLOUR = "#6baed6"
P99_COLOUR = "#d94801"
WORST_COLOUR = "#54278f"
CHANGE_COLOUR = "#404040"
ERROR_COLOUR = "#cb181d"


def last_runs(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each server's last run, wsgihost first, then the others in the order they are listed."""
    last: dict[str, dict[str, Any]] = {}
    for entry in result["runs"]:
        last[entry["server"]] = entry
    order = [name for name in result["servers"] if name in last]
    order.sort(key=lambda name: not name.startswith("wsgihost"))
    return [last[name] for name in order]


def panel_title(result: dict[str, Any], entry: dict[str, Any]) -> str:
    server = result["servers"][entry["server"]]
    kinds = entry.get("error_kinds") or {}
    errors = entry["connection_errors"] + entry["non_2xx"]
    detail = f"{errors} errors" if errors else "no errors"
    if kinds:
        detail += " (" + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + ")"
    return (
        f"{server['title']}, reload by {server['reload_by'].replace('`', '')}: {detail}, "
        f"longest gap {entry['longest_gap_ms']:,.0f} ms, worst {entry['worst_ms']:,.0f} ms, "
        f"new code after {fmt_ms(entry['new_code_median_ms'])} ms (median)"
    )


def fmt_ms(value: float | None) -> str:
    return "never" if value is None else f"{value:,.0f}"


def draw(result: dict[str, Any], out: Path) -> None:
    """Write the picture to out (PNG). Raises ImportError without matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    entries = last_runs(result)
    if not entries:
        raise ValueError("no run to draw")
    bin_s = entries[0]["timeline"]["bin_s"]
    rate_top = 1.1 * max(max(e["timeline"]["completed"]) / bin_s for e in entries) or 1.0
    latencies = [
        value
        for e in entries
        for key in ("p99_ms", "worst_ms")
        for value in e["timeline"].get(key, [])
        if value > 0
    ]
    low = min(latencies) / 1.5 if latencies else 0.1
    high = max(latencies) * 1.5 if latencies else 1000.0

    height = 1.0 + 2.3 * len(entries)
    figure, axes = pyplot.subplots(
        len(entries), 1, figsize=(12, height), sharex=True, squeeze=False
    )
    for axis, entry in zip(axes[:, 0], entries, strict=True):
        line = entry["timeline"]
        times = [i * bin_s for i in range(len(line["completed"]))]
        rates = [n / bin_s for n in line["completed"]]
        axis.fill_between(times, rates, step="post", color=RATE_COLOUR, alpha=0.55, lw=0)
        axis.set_ylim(0, rate_top)
        axis.set_ylabel("answers/s")
        axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        errors = [(t, n) for t, n in zip(times, line["errors"], strict=True) if n]
        if errors:
            axis.plot(
                [t + bin_s / 2 for t, _ in errors],
                [rate_top * 0.04] * len(errors),
                "x",
                color=ERROR_COLOUR,
                ms=6,
                mew=2,
            )
        for at in line["changes_s"]:
            axis.axvline(at, color=CHANGE_COLOUR, ls="--", lw=1)

        latency = axis.twinx()
        for key, colour, width in (("worst_ms", WORST_COLOUR, 0.8), ("p99_ms", P99_COLOUR, 1.4)):
            values = line.get(key)
            if values is None:
                continue
            shown = [v if v > 0 else math.nan for v in values]
            latency.step([t + bin_s for t in times], shown, where="pre", color=colour, lw=width)
        latency.set_yscale("log")
        latency.set_ylim(low, high)
        latency.set_ylabel("latency ms")
        latency.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_title(panel_title(result, entry), fontsize=9, loc="left")
        axis.set_xlim(0, len(times) * bin_s)
    axes[-1, 0].set_xlabel("seconds into the measured window")

    settings = result["settings"]
    handles = [
        Patch(color=RATE_COLOUR, alpha=0.55, label=f"answers/s (per {bin_s * 1000:.0f} ms)"),
        Line2D([], [], color=P99_COLOUR, lw=1.4, label="p99 latency (right axis)"),
        Line2D([], [], color=WORST_COLOUR, lw=0.8, label="slowest answer (right axis)"),
        Line2D([], [], color=CHANGE_COLOUR, ls="--", lw=1, label="script changed (reload)"),
        Line2D([], [], color=ERROR_COLOUR, marker="x", ls="", mew=2, label="connection errors"),
    ]
    header = 0.55 / height  # of the figure's height: the title, then the legend
    figure.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.3 / height),
        ncol=5,
        fontsize=8,
        frameon=False,
    )
    figure.suptitle(
        f"Reload under load: {settings['clients']} keep-alive clients, the script changed "
        f"every {settings['interval']:g} s; {settings['processes']} processes x "
        f"{settings['threads']} threads each; {result['started']}, {result['host']['cpus']} CPUs",
        fontsize=10,
        y=1 - 0.05 / height,
        va="top",
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - header))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    pyplot.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw a reload.py result as a PNG.")
    parser.add_argument("result", type=Path, help="a reload-*.json file")
    parser.add_argument("--output", type=Path, help="the PNG (default: reload.png beside it)")
    args = parser.parse_args(argv)
    result = json.loads(args.result.read_text())
    out = args.output or args.result.parent / "reload.png"
    try:
        draw(result, out)
    except ImportError:
        print("matplotlib is not importable here (pip install matplotlib)", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"nothing drawn: {exc}", file=sys.stderr)
        return 1
    print(f"Plot written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
