"""The certificate table of docs/step-count.md from check.py's output (one JSON object per line:
a run of one method on one model, with per-example rows).

    /usr/bin/python3 bench/certificates/table.py CHECKS.jsonl [--tolerance 0.01] [--attribution-tolerance 0.05]
"""

import argparse
import json
from collections import OrderedDict

NAMES = OrderedDict([
    ("adaptive", "igx adaptive, defaults (completeness against float64 ends + attribution vector, scan)"),
    ("adaptive-panels", "igx adaptive, `--certify panels` + attribution vector, scan"),
    ("doubling", "igx doubling (riemann_right) + attribution vector, scan"),
    ("adaptive-completeness-only", "igx adaptive, panel sum only, no scan (the criteria of the former default)"),
])


def label_name(label):
    if label in NAMES:
        return NAMES[label]
    rule, n = label.rsplit("-", 1)
    return f"fixed {rule}, n = {n}"


def order(label):
    keys = list(NAMES)
    if label in keys:
        return (keys.index(label), 0)
    rule, n = label.rsplit("-", 1)
    return (len(keys) + (0 if rule == "riemann_right" else 1), int(n))


def pct(part, whole):
    return "–" if whole == 0 else f"{100.0 * part / whole:.0f}%"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checks")
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--attribution-tolerance", type=float, default=0.05)
    args = parser.parse_args()
    runs = OrderedDict()
    models = []
    for line in open(args.checks):
        line = line.strip()
        if not line:
            continue
        run = json.loads(line)
        runs.setdefault(run["label"], []).extend(run["rows"])
        if run["model"] not in models:
            models.append(run["model"])
    all_rows = [r for rows in runs.values() for r in rows]
    agreement = max((r["reference_error"] for r in all_rows), default=0.0)
    print(f"Models: {', '.join(models)}; tolerance {args.tolerance:g} (completeness), attribution tolerance "
          f"{args.attribution_tolerance:g} (relative L1 of the vector); the two references agree to "
          f"{agreement:.1e} (worst example).\n")
    print("| method | examples | certified | wrong certificates: completeness | vector | within tolerance "
          "(recomputed): completeness | vector | worst vector error | mean gradient evaluations | mean forward "
          "evaluations | attribution_error ≥ true error |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label in sorted(runs, key=order):
        rows = runs[label]
        n = len(rows)
        certifies = rows[0]["certified"] is not None
        certified = sum(1 for r in rows if r["certified"])
        wrong_c = sum(1 for r in rows if r["wrong_completeness"])
        # Certified with a vector further off than the attribution tolerance, whether or not the run
        # claimed the vector (the former default certified completeness only).
        wrong_v = sum(1 for r in rows if r["certified"] and r["vector_error"] > args.attribution_tolerance)
        defined = [r for r in rows if r["completeness_error"] is not None]
        within_c = sum(1 for r in defined if r["completeness_error"] <= args.tolerance)
        within_v = sum(1 for r in rows if r["vector_error"] <= args.attribution_tolerance)
        worst = max(r["vector_error"] for r in rows)
        steps = sum(r["steps"] for r in rows) / n
        forward = sum(r["forward_steps"] for r in rows) / n
        estimated = [r for r in rows if r["attribution_error"] is not None]
        covered = sum(1 for r in estimated if r["attribution_error"] >= r["vector_error"])
        print(f"| {label_name(label)} | {n} | {pct(certified, n) if certifies else '–'} | "
              f"{wrong_c if certifies else '–'} | {wrong_v if certifies else '–'} | {pct(within_c, len(defined))} | "
              f"{pct(within_v, n)} | {100 * worst:.2g}% | {steps:.1f} | {forward:.1f} | "
              f"{pct(covered, len(estimated)) if estimated else '–'} |")


if __name__ == "__main__":
    main()
