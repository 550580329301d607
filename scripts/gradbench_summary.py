#!/usr/bin/python3
"""Issue 18's summary of a scripts/gradbench.sh run (docs/gradbench.md).

  scripts/gradbench_summary.py DIR            the summary table, the geometric
                                              mean and the rows that miss an aim
  scripts/gradbench_summary.py DIR --tables   and one table per eval

DIR holds EVAL-TOOL.json from GradBench's run.sh --json (and EVAL.PART-TOOL.json
for the other sizes of an eval run in parts: their rows are merged). In each eval the
first function of an input is its primal, the second its derivative.
"""

import glob
import json
import math
import os
import sys

ORDER = "hello lse llsq gmm kmeans ode det lstm ba ht particle saddle".split()
PEERS = ["manual", "nabla", "adol-c", "pytorch", "finite"]
CHEAP = {"gmm", "lse", "llsq", "lstm", "det", "ode"}  # gradient <= 5x own primal


def load(d):
    runs = {}
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        r = json.load(open(path))
        tools = runs.setdefault(r["eval"], {})
        if r["tool"] in tools:  # another part of the eval's sizes
            tools[r["tool"]]["rows"] += r["rows"]
        else:
            tools[r["tool"]] = r
    return runs


def rows_of(run):
    """{(input, function): (mean evaluate ns, prepare ns, valid)} and the
    functions in order."""
    rows, functions = {}, []
    for row in run["rows"]:
        if row["function"] == "define" or "timings" not in row:
            continue
        t = row["timings"]
        ev = t.get("evaluate", {}).get("mean_ns")
        prep = t.get("prepare", {}).get("mean_ns", 0)
        desc = row["description"]
        if run["eval"] == "hello":  # the eval echoes nabla's 1 as "1", manual's 1.0 as "1.0"
            desc = str(float(desc))
        rows[(desc, row["function"])] = (ev, prep, row.get("valid"))
        if row["function"] not in functions:
            functions.append(row["function"])
    return rows, functions


def span(xs):
    xs = [x for x in xs if x is not None]
    return f"{min(xs):.2g}x to {max(xs):.2g}x" if xs else "-"


def fmt(ns):
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def ratio(a, b):
    return a / b if a and b else None


def summarize(name, tools, misses, derivative_ratios):
    nabla, funcs = rows_of(tools["nabla"])
    peers = {t: rows_of(r)[0] for t, r in tools.items() if t != "nabla"}
    primal, deriv = funcs if len(funcs) == 2 else (None, None)  # particle, saddle: four
    inputs = list(dict.fromkeys(i for i, _ in nabla))
    col = {k: [] for k in ("pm", "dm", "da", "dp", "own")}
    for i in inputs:
        if primal is None:
            break
        p, d = nabla.get((i, primal), (None,))[0], nabla.get((i, deriv), (None,))[0]
        peer = lambda t, f: peers.get(t, {}).get((i, f), (None,))[0]
        col["pm"].append(ratio(p, peer("manual", primal)))
        col["dm"].append(ratio(d, peer("manual", deriv)))
        col["da"].append(ratio(d, peer("adol-c", deriv)))
        col["dp"].append(ratio(d, peer("pytorch", deriv)))
        col["own"].append(ratio(d, p))
        if name != "ode" and col["dm"][-1]:  # issue 18: every derivative row but ode
            derivative_ratios.append(col["dm"][-1])
        check(name, i, col, misses)
    prepare = max(v[1] for v in nabla.values())
    if prepare > 2e9:
        misses.append(f"{name} prepare {prepare / 1e9:.2f} s > 2 s")
    valid = sum(1 for v in nabla.values() if v[2])
    cells = [span(col[k]) for k in ("pm", "dm", "da", "dp", "own")]
    return f"| {name} | " + " | ".join(cells) + f" | {prepare / 1e9:.3g} s | {valid}/{len(nabla)} |"


def check(name, i, col, misses):
    last = {k: v[-1] for k, v in col.items()}
    if last["pm"] and last["pm"] > 1.2:
        misses.append(f"{name} {i} primal {last['pm']:.2f}x manual > 1.2x")
    if last["da"] and last["da"] >= 1:
        misses.append(f"{name} {i} derivative {last['da']:.2f}x ADOL-C >= 1x")
    if last["dp"] and last["dp"] >= 1:
        misses.append(f"{name} {i} derivative {last['dp']:.2f}x PyTorch >= 1x")
    if name in CHEAP and last["own"] and last["own"] > 5:
        misses.append(f"{name} {i} derivative {last['own']:.2f}x own primal > 5x")


def table(name, tools):
    order = [t for t in PEERS if t in tools]
    data = {t: rows_of(tools[t])[0] for t in order}
    first = order[0]
    print(f"\n### {name}\n")
    print("| input | function | " + " | ".join(order) + " | nabla prepare |")
    print("|---|---|" + "---|" * (len(order) + 1))
    for key, (ev, prep, valid) in data["nabla"].items():
        cells = []
        for t in order:
            v = data[t].get(key, (None,))[0]
            base = data[first].get(key, (None,))[0]
            cells.append("-" if v is None else fmt(v) + ("" if t == first or not base else f" ({v / base:.2g}x)"))
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {fmt(prep)} |")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs = load(sys.argv[1])
    misses, derivative_ratios = [], []
    print("| eval | primal / manual | derivative / manual | derivative / ADOL-C | derivative / PyTorch"
          " | gradient / own primal | prepare (max) | valid |")
    print("|---|---|---|---|---|---|---|---|")
    for name in [e for e in ORDER if e in runs and "nabla" in runs[e]]:
        print(summarize(name, runs[name], misses, derivative_ratios))
    if derivative_ratios:
        g = math.exp(sum(map(math.log, derivative_ratios)) / len(derivative_ratios))
        n = len(derivative_ratios)
        print(f"\ngeometric mean nabla/manual over {n} derivative rows (every eval but ode): {g:.3g}")
    print("\nmisses:" + ("".join(f"\n- {m}" for m in misses) if misses else " none"))
    if "--tables" in sys.argv:
        for name in [e for e in ORDER if e in runs and "nabla" in runs[e]]:
            table(name, runs[name])


if __name__ == "__main__":
    main()
