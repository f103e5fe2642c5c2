"""The Markdown report of a benchmark run: one table row per (task, solver or peer)."""
from __future__ import annotations

from .machine import format_machine

__all__ = ["markdown_table", "markdown_report", "TABLE_HEADER"]

TABLE_HEADER = ("| task | method | C (own convention) | wall s | CPU s | iter | oracle calls | "
                "QP % | peak RSS MB | primal | gap | test quality |")
_SEP = "|" + "---|" * 12

_QNAMES = {"accuracy": "acc", "chunk_f1": "chunk F1", "bracket_f1": "bracket F1",
           "subtopic_loss": "subtopic loss"}


def _num(x, fmt="{:.1f}"):
    return "–" if x is None else fmt.format(x)


def _quality(task, q):
    if not q:
        return "–"
    main = task["quality_metric"]
    parts = []
    if main in q:
        v = q[main]
        parts.append(f"{_QNAMES.get(main, main)} {v:.3f}" if main == "subtopic_loss"
                     else f"{_QNAMES.get(main, main)} {v:.2f}")
    if main != "accuracy" and "accuracy" in q:
        parts.append(f"acc {q['accuracy']:.2f}")
    return ", ".join(parts)


def _row(task, r):
    kind = r.get("kind")
    method = r["method"]
    if kind == "solver" and not r.get("converged") and r.get("time_limit_hit"):
        method += " (time limit)"
    elif kind == "solver" and not r.get("converged"):
        method += " (max_iter)"
    if kind == "baseline":
        method = f"baseline: {method}"
    C = r.get("C_peer")
    c_cell = "–" if C is None else f"{C:.4g} ({r.get('C_note', '')})"
    qp = r.get("qp_share")
    gap = r.get("gap")
    gap_cell = _num(gap, "{:.4g}")
    if gap is not None and r.get("approximate_oracle"):
        gap_cell += "*"
    rss = r.get("peak_rss_mb")
    return (f"| {task['task']} | {method} | {c_cell} | {_num(r.get('wall_s'), '{:.2f}')} | "
            f"{_num(r.get('cpu_s'), '{:.2f}')} | {_num(r.get('n_iter'), '{:d}')} | "
            f"{_num(r.get('oracle_calls'), '{:d}')} | "
            f"{'–' if qp is None else f'{100 * qp:.1f}'} | {_num(rss, '{:.0f}')} | "
            f"{_num(r.get('primal'), '{:.6g}')} | {gap_cell} | "
            f"{_quality(task, r.get('quality'))} |")


def markdown_table(results: dict) -> str:
    """The combined table over every task of ``results``."""
    lines = [TABLE_HEADER, _SEP]
    for t in results["tasks"]:
        for r in t["runs"]:
            lines.append(_row(t, r))
    return "\n".join(lines)


def markdown_report(results: dict, plots: dict, rel: str = "") -> str:
    """Full Markdown: command, machine, table, per-task notes and plot links, scaling."""
    out = ["# structpred benchmark results", ""]
    out.append(f"Command: `{results['command']}`  ")
    out.append(f"Started {results['started']}, took {results['elapsed_s']:.0f} s; "
               f"mode {'quick' if results['quick'] else 'full'}, n_jobs={results['n_jobs']}, "
               f"per-run time limit {results.get('time_limit_s')} s"
               + (f" ({', '.join(f'{k}: {v:g} s' for k, v in results['time_limits_s'].items())})"
                  if results.get("time_limits_s") else "") + ".  ")
    out.append(format_machine(results["machine"]) + "  ")
    le = results.get("load_average_end")
    out.append(f"Load average at the end: {le}. Timings on a shared machine are noisy: "
               "compare rows of the same run.")
    out.append("")
    out.append("C is structpred's (SVM-struct: ½‖w‖² + (C/n) Σ ξ_i); each peer gets it in its "
               "own convention (scikit-learn and pystruct C / n, CRFsuite c2 = n / (2C)). "
               "Primal: structpred's objective at the method's w (peers with the same objective "
               "are scored by structpred's oracle). Gap: primal - dual of the solver "
               "(* = approximate oracle, not certified). QP %: share of the solver time spent "
               "in the dual QP. Peak RSS: resident memory of the whole process during the run.")
    out.append("")
    out.append(markdown_table(results))
    out.append("")
    for t in results["tasks"]:
        out.append(f"## {t['title']}")
        out.append("")
        info = {k: t.get(k) for k in ("n_train", "n_test", "d", "n_features", "n_labels",
                                      "train_tokens", "split") if t.get(k) is not None}
        out.append(", ".join(f"{k} = {v}" for k, v in info.items()) + ".")
        for s in t.get("skipped", []):
            out.append(f"- skipped: {s}")
        for r in t["runs"]:
            if r.get("note"):
                out.append(f"- {r['method']}: {r['note']}")
            for w in r.get("warnings", [])[:3]:
                out.append(f"- {r['method']} warning: {w}")
        out.append("")
        for name in plots.get(t["task"], []):
            out.append(f"![{name}]({rel}{name})")
        out.append("")
    for s in results.get("skipped_tasks", []):
        out.append(f"- task skipped: {s}")
    sc = results.get("scaling")
    if sc:
        out.append("## Scaling on CoNLL-2000")
        out.append("")
        out.append(f"structpred {sc['solver']}, C={sc['C']:g}, eps={sc['eps']:g}, "
                   f"n_jobs={sc['n_jobs']}, nested seeded subsets of {sc['base_n']} sentences.")
        out.append("")
        out.append("| n sentences | tokens | wall s | CPU s | iter | s / iter | oracle s (total) | "
                   "oracle s / iter | oracle ms / example | QP % | peak RSS MB |")
        out.append("|" + "---|" * 11)
        for p in sc["points"]:
            qp = p.get("qp_share")
            out.append(f"| {p['n_train']} | {p['tokens']} | {p['wall_s']:.2f} | {p['cpu_s']:.2f} | "
                       f"{p['n_iter']} | {p['time_per_iter_s']:.3f} | "
                       f"{p.get('oracle_s', float('nan')):.2f} | "
                       f"{p.get('oracle_s_per_iter', float('nan')):.3f} | "
                       f"{1e3 * p['oracle_s_per_call']:.3f} | "
                       f"{'–' if qp is None else f'{100 * qp:.1f}'} | {p['peak_rss_mb']:.0f} |")
        f = sc["fits"]
        out.append("")
        out.append(f"Log-log slopes: training time {f['wall_s']['slope']:.2f} "
                   f"(R² {f['wall_s']['r2']:.3f}), time per iteration "
                   f"{f['time_per_iter_s']['slope']:.2f} (R² {f['time_per_iter_s']['r2']:.3f}), "
                   f"oracle time per example {f['oracle_s_per_call']['slope']:.2f}, "
                   f"iterations {f['n_iter']['slope']:.2f}"
                   + (f", total oracle time {f['oracle_s']['slope']:.2f} "
                      f"(R² {f['oracle_s']['r2']:.3f}), oracle time per iteration "
                      f"{f['oracle_s_per_iter']['slope']:.2f}" if "oracle_s" in f else "")
                   + ". A slope of 1 is linear growth in n.")
        out.append("")
        for name in plots.get("scaling", []):
            out.append(f"![{name}]({rel}{name})")
        out.append("")
    return "\n".join(out)
