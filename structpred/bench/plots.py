"""PNG plots of a benchmark run (matplotlib, Agg backend).

Per task: ``<task>_objective.png`` (primal objective, dual objective and duality gap against
training time and against iterations, one line per structpred solver; peers whose w can be
scored by structpred's primal appear as markers at their training time) and
``<task>_quality.png`` (test quality against training time: solvers from snapshots of w,
peers as markers, task baselines as dashed horizontal lines). Scaling: ``scaling.png``.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_task", "plot_scaling"]

_MARKERS = "os^Dv<>P*X"



def _save(fig, path):
    """Write a figure as PNG atomically (temporary file, then rename)."""
    from ..boundary.paths import atomic_write
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=100)

def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _series(hist, xkey, ykey):
    x = np.array([h.get(xkey) if h.get(xkey) is not None else np.nan for h in hist], float)
    y = np.array([h.get(ykey) if h.get(ykey) is not None else np.nan for h in hist], float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0)
    return x[ok], y[ok]


_LABELS = {"accuracy": "test accuracy (%)", "chunk_f1": "test chunk F1 (%)",
           "bracket_f1": "test labeled-bracket F1 (%)",
           "subtopic_loss": "test weighted subtopic loss (lower is better)"}


def plot_task(rec: dict, out_dir: str) -> list:
    """Write the task's PNGs into out_dir; returns their file names."""
    plt = _plt()
    solvers = [r for r in rec["runs"] if r.get("kind") == "solver"]
    peers = [r for r in rec["runs"] if r.get("kind") == "peer"]
    baselines = [r for r in rec["runs"] if r.get("kind") == "baseline"]
    files = []
    if solvers:
        fig, axes = plt.subplots(2, 3, figsize=(14, 8.5))
        cols = (("primal", "primal objective"), ("dual", "dual objective"),
                ("gap", "duality gap (primal - dual)"))
        rows = (("time", "training time (s)"), ("iteration", "iteration"))
        for i, (xkey, xlabel) in enumerate(rows):
            for j, (ykey, ylabel) in enumerate(cols):
                ax = axes[i, j]
                positive = True
                for k, r in enumerate(solvers):
                    x, y = _series(r["history"], xkey, ykey)
                    if ykey == "gap":
                        keep = y > 0
                        x, y = x[keep], y[keep]
                    if x.size == 0:
                        continue
                    positive &= bool(np.all(y > 0))
                    ax.plot(x, y, marker=_MARKERS[k % len(_MARKERS)], markersize=3, lw=1.4,
                            label=r["method"])
                if ykey == "primal" and xkey == "time":
                    for k, p in enumerate(peers):
                        if p.get("primal") is not None:
                            ax.plot([p["wall_s"]], [p["primal"]], ls="none", markersize=9,
                                    marker=_MARKERS[(k + 5) % len(_MARKERS)],
                                    label=f"{p['method']} (final)")
                ax.set_xscale("log")
                if positive and ykey in ("primal", "gap"):
                    ax.set_yscale("log")
                ax.set_xlabel(xlabel, fontsize=11)
                ax.set_ylabel(ylabel, fontsize=11)
                ax.grid(True, which="major", alpha=0.35)
                ax.tick_params(labelsize=9)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=8, loc="best")
        approx = any(r.get("approximate_oracle") for r in solvers)
        fig.suptitle(rec["title"] + f"  (n={rec.get('n_train')}, C={rec['C']:g}, "
                     f"eps={rec['eps']:g})" + ("\napproximate (greedy) oracle: primal and gap "
                                               "are estimates, not certified" if approx else ""),
                     fontsize=13)
        fig.tight_layout()
        name = f"{rec['task']}_objective.png"
        _save(fig, os.path.join(out_dir, name))
        plt.close(fig)
        files.append(name)
    # test quality against time
    fig, ax = plt.subplots(figsize=(8.5, 5.5))
    q = rec["quality_metric"]
    drawn = False
    for k, r in enumerate(solvers):
        x, y = _series(r.get("quality_curve", []), "time", q)
        if x.size:
            ax.plot(x, y, marker=_MARKERS[k % len(_MARKERS)], markersize=4, lw=1.4,
                    label=r["method"])
            drawn = True
    for k, p in enumerate(peers):
        v = p.get("quality", {}).get(q)
        if v is not None and p.get("wall_s"):
            ax.plot([p["wall_s"]], [v], ls="none", markersize=10,
                    marker=_MARKERS[(k + 5) % len(_MARKERS)], label=p["method"])
            drawn = True
    for k, b in enumerate(baselines):
        v = b.get("quality", {}).get(q)
        if v is not None:
            ax.axhline(v, ls="--", lw=1, color=f"C{(k + 3) % 10}", label=f"baseline: {b['method']}")
            drawn = True
    if drawn:
        ax.set_xscale("log")
        ax.set_xlabel("training time (s)", fontsize=11)
        ax.set_ylabel(_LABELS.get(q, q), fontsize=11)
        ax.set_title(rec["title"], fontsize=12)
        ax.grid(True, alpha=0.35)
        ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        name = f"{rec['task']}_quality.png"
        _save(fig, os.path.join(out_dir, name))
        files.append(name)
    plt.close(fig)
    return files


def plot_scaling(rec: dict, out_dir: str) -> list:
    """Log-log training time and time per iteration against n, with the fitted slopes."""
    plt = _plt()
    pts = rec["points"]
    n = np.array([p["n_train"] for p in pts], float)
    panels = [("wall_s", "training time (s)"), ("time_per_iter_s", "time per iteration (s)")]
    if all("oracle_s" in p for p in pts):
        panels.append(("oracle_s", "oracle time, total (s)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5))
    for ax, (key, label) in zip(axes, panels):
        y = np.array([p[key] for p in pts], float)
        ax.loglog(n, y, "o", markersize=8, label="measured")
        fit = rec["fits"][key]
        xs = np.geomspace(n.min(), n.max(), 50)
        ax.loglog(xs, np.exp(fit["intercept"]) * xs ** fit["slope"], "-",
                  label=f"fit: slope {fit['slope']:.2f}")
        ax.loglog(xs, y[-1] * xs / n[-1], ":", color="gray", label="slope 1 (linear)")
        for xi, yi, p in zip(n, y, pts):
            ax.annotate(f"{p['n_iter']} it", (xi, yi), textcoords="offset points",
                        xytext=(6, -12), fontsize=8)
        ax.set_xlabel("training sentences n", fontsize=11)
        ax.set_ylabel(label, fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle(f"Scaling on CoNLL-2000 ({rec['data']}): structpred {rec['solver']}, "
                 f"C={rec['C']:g}, eps={rec['eps']:g}", fontsize=12)
    fig.tight_layout()
    name = "scaling.png"
    _save(fig, os.path.join(out_dir, name))
    plt.close(fig)
    return [name]
