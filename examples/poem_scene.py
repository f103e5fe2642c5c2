"""Learning a multi-label policy from logged bandit feedback (POEM on Scene, one run).

A logging CRF trained on 5% of Scene's training images labels the rest, 4 times each, by
sampling a label vector from its Gibbs policy; we only keep what a deployed system would log:
the image, the label vector shown, its Hamming loss and its propensity. POEM and Norm-POEM then
learn a better policy from that log alone, with hyper-parameters chosen on 25% of the log, and
we check the result against the full-information test labels.

    STRUCTPRED_DATA=/path/to/data python examples/poem_scene.py
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from structpred.counterfactual import CRM, ips, snips, variance_calibration  # noqa: E402
from structpred.counterfactual.conversion import supervised_to_bandit  # noqa: E402
from structpred.datasets.multilabel import load_scene  # noqa: E402
from structpred.tasks import MultiLabel  # noqa: E402


def main():
    Xtr, Ytr, Xte, Yte = load_scene()
    Ytr, Yte = Ytr.astype(np.int64), Yte.astype(np.int64)
    task = MultiLabel(n_labels=6, n_features=Xtr.shape[1], bias=True)
    task.initialize(Xtr, Ytr)

    conv = supervised_to_bandit(task, Xtr, list(Ytr), logger_fraction=0.05, n_replays=4,
                                logger_C=5.0, random_state=0)
    log = conv.feedback                    # X, logged label vectors, Hamming losses, log p
    train, held = log.split(0.25, random_state=0)
    print(f"{len(log)} logged interactions; logger's mean logged loss {log.loss.mean():.3f}")

    def test_loss(w):
        return float(np.mean(task.batch_expected_loss(task.make_batch(Xte, Yte), w)[0]))

    print(f"logger        test expected Hamming loss {test_loss(conv.logger_w):.3f}")
    # POEM as in the paper: λ = c·λ* (λ* = −mean(δ)/sqrt(V̂/n) of the translated losses), a weak
    # L2 term, L-BFGS run to convergence; Norm-POEM with the grid of benchmarks/poem_scene.py
    lam_star = variance_calibration(train.translated(6.0))
    settings = {"poem": dict(C=[1e4, 1e5], variance_weight=[1e-3 * lam_star, 1e-2 * lam_star],
                             max_iter=1000),
                "norm-poem": dict(C=[3.0, 30.0, 300.0], variance_weight=[0.1, 1.0], max_iter=100)}
    for objective, params in settings.items():
        crm = CRM(task, objective=objective, loss_translation=6.0, random_state=0, **params)
        crm.fit(train, validation=held)    # losses δ − 6 ∈ [−6, 0], as POEM learns them
        est = snips(held, crm.target())    # off-policy estimate on the held-out log (δ scale)
        print(f"{objective:<13} test expected Hamming loss {test_loss(crm.w_):.3f}; held-out "
              f"SNIPS {est.value:.3f} [{est.low:.3f}, {est.high:.3f}]; chosen {crm.best_params_}")
    print(f"IPS estimate of the logger on its own held-out log: "
          f"{ips(held, (task, conv.logger_w)).value:.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "policy.npz"
        crm.save(path)
        back = CRM.load(path)
        assert np.array_equal(back.w_, crm.w_)
        print(f"saved and loaded {path.name}: {back!r}")


if __name__ == "__main__":
    main()
