#!/usr/bin/env python3
"""Plots of satvp's output directories, as PNGs beside the data (docs/reports.md).

  scripts/plot.py run DIR      a `satvp run` directory: cycles per layer and pass (layers.png),
                               engine utilisation (engines.png), and utilisation over time
                               (timeline.png) when DIR/timeline.json exists
  scripts/plot.py compare DIR  a `satvp compare` directory: per-iteration time and speed-up per
                               scheme on three time bases, with the paper's figures (compare.png)
  scripts/plot.py sweep DIR    a `satvp sweep` directory: iteration time and GOPS against the
                               swept parameters (sweep.png)

Needs python3 and matplotlib only (Debian: apt install python3-matplotlib). Exits 3 when
matplotlib is missing, 2 when DIR lacks the files the plot needs.
"""
import argparse
import csv
import json
import os
import re
import sys

TRAINING_PASSES = ["FF", "BP", "WU", "WUVE", "OSRE"]  # EVAL and other are no part of an iteration
ENGINES = ["STCE", "OSRE", "WUVE"]


def fail(message):
    print("plot.py: " + message, file=sys.stderr)
    sys.exit(2)


def read_json(path):
    if not os.path.exists(path):
        fail(f"{path} not found")
    with open(path) as f:
        return json.load(f)


def read_csv(path):
    if not os.path.exists(path):
        fail(f"{path} not found")
    with open(path, newline="") as f:
        return list(csv.DictReader(f, skipinitialspace=True))  # layers.csv has ", " separators


def time_unit(seconds):
    """The unit that shows these durations as numbers between about 1 and 1000."""
    largest = max((s for s in seconds if s is not None), default=1)
    for unit, scale in (("s", 1), ("ms", 1e3), ("us", 1e6)):
        if largest >= 1 / scale:
            return unit, scale
    return "ns", 1e9


def number(text):
    return float(text) if text not in ("", None) else None


def save(fig, path, bottom=0):
    """bottom: the share of the figure's height kept free below the plots (for a figure legend)."""
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def run_title(report):
    return f"{report['workload']} ({report['scheme']} {report['nm']}, {report['mode']} mode)"


# ---- run ------------------------------------------------------------------------------------

def plot_layers(plt, d, report):
    totals = {}  # (id, name) -> {pass: cycles}
    for row in read_csv(os.path.join(d, "layers.csv")):
        if row["Pass"] in TRAINING_PASSES:
            layer = totals.setdefault((int(row["LayerID"]), row["Layer"]), {})
            layer[row["Pass"]] = layer.get(row["Pass"], 0) + float(row["Total Cycles"])
    layers = sorted((k, v) for k, v in totals.items() if sum(v.values()) > 0)
    if not layers:
        print("layers.csv has no cycles in the training passes; skipping layers.png")
        return
    names = [name for (_, name), _ in layers]
    fig, ax = plt.subplots(figsize=(max(8, 0.35 * len(names) + 2), 6))
    bottom = [0.0] * len(names)
    for p in TRAINING_PASSES:
        heights = [v.get(p, 0) / 1e6 for _, v in layers]
        ax.bar(names, heights, bottom=bottom, label=p)
        bottom = [b + h for b, h in zip(bottom, heights)]
    ax.set_ylim(0, 1.05 * max(bottom))
    ax.set_title(f"{run_title(report)}: SAT cycles per layer and pass, "
                 f"{report['iterations_done']} iterations")
    ax.set_xlabel("layer")
    ax.set_ylabel(f"million SAT cycles (at {report['sat_clock_hz'] / 1e6:.0f} MHz)")
    ax.tick_params(axis="x", labelrotation=90)
    ax.legend(title="pass")
    ax.grid(axis="y", alpha=0.3)
    save(fig, os.path.join(d, "layers.png"))


def plot_engines(plt, report, d):
    engines = report["engines"]
    names = ENGINES + ["host"]
    busy = [100 * engines[n]["utilisation"] for n in names]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh(names, busy, color="tab:blue", label="busy")
    ax.barh(names, [100 - b for b in busy], left=busy, color="lightgray", label="idle")
    for i, b in enumerate(busy):
        ax.text(min(b, 90) + 1, i, f"{b:.1f}%", va="center")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("share of the run's simulated time (%)")
    ax.set_title(f"{run_title(report)}: engine utilisation")
    ax.legend(loc="lower right")
    save(fig, os.path.join(d, "engines.png"))


def plot_timeline(plt, d, bins=100):
    """Busy share per engine in time bins, from a Chrome trace's complete ("X") events."""
    trace = read_json(os.path.join(d, "timeline.json"))
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = {}  # tid -> engine, from thread_name metadata events
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e.get("tid")] = e.get("args", {}).get("name", str(e.get("tid")))
    spans = {}
    for e in events:
        track = names.get(e.get("tid"), str(e.get("tid")))
        # The firmware track holds its phases (layer, pass), back to back: always "busy".
        if e.get("ph") == "X" and track != "firmware":
            spans.setdefault(track, []).append((float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0))))
    if not spans:
        print("timeline.json has no complete (ph X) events; skipping timeline.png")
        return
    start = min(s for v in spans.values() for s, _ in v)
    end = max(e for v in spans.values() for _, e in v)
    width = (end - start) / bins or 1
    fig, ax = plt.subplots(figsize=(10, 4))
    for engine, intervals in sorted(spans.items()):
        busy = [0.0] * bins
        for s, e in intervals:  # spread each interval over the bins it overlaps
            for b in range(int((s - start) // width), min(bins, int((e - start) // width) + 1)):
                lo, hi = start + b * width, start + (b + 1) * width
                busy[b] += max(0.0, min(e, hi) - max(s, lo))
        ax.plot([(b + 0.5) * width / 1e3 for b in range(bins)], [100 * x / width for x in busy], label=engine)
    ax.set_xlabel("simulated time (ms)")
    ax.set_ylabel(f"busy (% of each {width / 1e3:.3g} ms bin)")
    ax.set_ylim(0, 105)
    ax.set_title("engine utilisation over time")
    ax.legend()
    save(fig, os.path.join(d, "timeline.png"))


def plot_run(plt, d):
    report = read_json(os.path.join(d, "report.json"))
    plot_layers(plt, d, report)
    plot_engines(plt, report, d)
    if os.path.exists(os.path.join(d, "timeline.json")):
        plot_timeline(plt, d)
    else:
        print(f"no {os.path.join(d, 'timeline.json')} (a Chrome trace of the engines; satvp does not write one "
              "yet): skipping the utilisation-over-time plot")


# ---- compare --------------------------------------------------------------------------------

# The time bases of compare.json (docs/paper-reproduction.md), widest first: its key prefix and
# the legend's words.
BASES = [("iteration", "whole iteration"), ("accel", "accelerator (iteration - host layers)"),
         ("stce", "STCE busy time")]
BASE_COLOURS = {"iteration": "tab:blue", "accel": "tab:orange", "stce": "tab:green"}


def plot_compare(plt, d):
    """Time per iteration and speed-up on each time base, a group of bars per scheme; the
    paper's figures, as compare.json lists them under "paper", as dashed marks."""
    compare = read_json(os.path.join(d, "compare.json"))
    runs = compare["runs"]
    if not runs:
        fail(f"{os.path.join(d, 'compare.json')} has no runs")
    schemes = [r["scheme"] for r in runs]
    unit, scale = time_unit([r[f"{key}_seconds"] for r in runs for key, _ in BASES])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    width = 0.8 / len(BASES)
    offset = {key: (i - (len(BASES) - 1) / 2) * width for i, (key, _) in enumerate(BASES)}
    for ax, suffix, fmt, value_scale in ((left, "seconds", "{:#.3g}", scale), (right, "speedup", "{:.2f}x", 1)):
        for key, label in BASES:
            values = [r[f"{key}_{suffix}"] for r in runs]
            xs = [i + offset[key] for i in range(len(runs))]
            ax.bar(xs, [v * value_scale if v is not None else 0 for v in values], width, label=label,
                   color=BASE_COLOURS[key])
            for x, v in zip(xs, values):
                ax.annotate("failed" if v is None else fmt.format(v * value_scale), (x, (v or 0) * value_scale),
                            ha="center", va="bottom", xytext=(0, 2), textcoords="offset points", fontsize=8,
                            rotation=90 if suffix == "seconds" else 0)
        ax.set_xticks(range(len(runs)))
        ax.set_xticklabels(schemes)
        ax.set_xlabel("scheme")
        ax.grid(axis="y", alpha=0.3)
    left.set_ylabel(f"simulated time per training iteration ({unit})")
    left.margins(y=0.2)
    right.set_ylabel(f"speed-up over {compare['baseline']} (x)")
    right.axhline(1, color="black", linewidth=0.8)
    # A figure the paper gives on several bases (it does not say which it measured) is one mark
    # across those bars, labelled once.
    marks = {}  # (scheme, speed-up) -> x positions of its bars
    for p in compare.get("paper", []):
        marks.setdefault((p["scheme"], p["speedup"]), []).append(schemes.index(p["scheme"]) + offset[p["base"]])
    for (scheme, speedup), xs in marks.items():
        right.hlines(speedup, min(xs) - width / 2, max(xs) + width / 2, colors="black", linestyles="--", linewidth=2,
                     label="paper (CEST Sec. IV), over the bases it compares with")
        right.annotate(f"paper {speedup:.2f}x", ((min(xs) + max(xs)) / 2, speedup), ha="center", va="bottom",
                       xytext=(0, 3), textcoords="offset points", fontsize=9)
    right.set_ylim(0, 1.2 * max([s for _, s in marks] +
                                [r[f"{key}_speedup"] or 0 for r in runs for key, _ in BASES] + [1]))
    handles, labels = right.get_legend_handles_labels()
    unique = dict(zip(labels, handles))  # one entry for the paper's marks, after the bases'
    unique = {label: unique[label] for label in sorted(unique, key=lambda label: label.startswith("paper"))}
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=len(unique), fontsize="small",
               frameon=False)
    fig.suptitle(f"{compare['workload']}: N:M schemes, {compare['mode']} mode")
    save(fig, os.path.join(d, "compare.png"), bottom=0.07)


# ---- sweep ----------------------------------------------------------------------------------

# "16", "19.2 GB/s", "4 MiB"; not "2:8" (an N:M is a category).
QUANTITY = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z][A-Za-z/]*)?\s*$")


def axis_values(values):
    """Numbers and a common unit ("19.2 GB/s" -> 19.2, "GB/s"), or None when not all numeric."""
    parsed = [QUANTITY.match(v) for v in values]
    if all(parsed) and len({m.group(2) for m in parsed}) == 1:
        return [float(m.group(1)) for m in parsed], parsed[0].group(2) or ""
    return None, ""


def plot_sweep(plt, d):
    rows = read_csv(os.path.join(d, "sweep.csv"))
    if not rows:
        fail(f"{os.path.join(d, 'sweep.csv')} has no runs")
    columns = list(rows[0].keys())
    params = columns[columns.index("index") + 1:columns.index("iteration_seconds")]
    varying = [p for p in params if len({r[p] for r in rows}) > 1] or params[:1]
    # A numeric parameter makes the better x axis; the others become one line each.
    x_param = next((p for p in varying if axis_values([r[p] for r in rows])[0]), varying[0])
    series_params = [p for p in varying if p != x_param]
    x_text = list(dict.fromkeys(r[x_param] for r in rows))  # in sweep order
    x_numbers, x_unit = axis_values(x_text)
    positions = dict(zip(x_text, x_numbers if x_numbers else range(len(x_text))))
    done = [r for r in rows if r["iteration_seconds"]]
    unit, scale = time_unit([number(r["iteration_seconds"]) for r in done])

    series = {}
    for r in done:
        key = ", ".join(f"{p}={r[p]}" for p in series_params)
        series.setdefault(key, []).append(r)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    for key, rs in series.items():
        rs = sorted(rs, key=lambda r: positions[r[x_param]])
        xs = [positions[r[x_param]] for r in rs]
        label = key or None
        top.plot(xs, [number(r["iteration_seconds"]) * scale for r in rs], marker="o", label=label)
        line, = bottom.plot(xs, [number(r["gops_dense_equivalent"]) for r in rs], marker="o",
                            label=(key + ", " if key else "") + "dense-equivalent")
        bottom.plot(xs, [number(r["gops_executed"]) for r in rs], marker="s", linestyle="--", color=line.get_color(),
                    label=(key + ", " if key else "") + "executed")
    if not x_numbers:
        bottom.set_xticks(range(len(x_text)))
        bottom.set_xticklabels(x_text)
    failed = len(rows) - len(done)
    top.set_title(f"sweep over {', '.join(varying)}" + (f" ({failed} of {len(rows)} runs without a report)" if failed else ""))
    top.set_ylabel(f"simulated time per iteration ({unit})")
    bottom.set_ylabel("GOPS over the run (1 MAC = 2 ops)")
    bottom.set_xlabel(x_param + (f" ({x_unit})" if x_unit else ""))
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    save(fig, os.path.join(d, "sweep.png"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("kind", choices=["run", "compare", "sweep"], help="what made DIR")
    parser.add_argument("dir", help="the output directory; the PNGs are written into it")
    args = parser.parse_args()
    try:
        import matplotlib
    except ImportError:
        print("plot.py: matplotlib is not installed; on Debian or Ubuntu: sudo apt install python3-matplotlib, "
              f"then: {sys.argv[0]} {args.kind} {args.dir}", file=sys.stderr)
        sys.exit(3)
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 11, "axes.titlesize": 12})
    {"run": plot_run, "compare": plot_compare, "sweep": plot_sweep}[args.kind](plt, args.dir)


if __name__ == "__main__":
    main()
