"""Would anything shipped with the final training beat it alone? Read-only, on a finished study.

``study.final_share`` ships the final training alone (``export/_shipping.ensemble_members``).
Two candidates that cost nothing at export time, measured on a study a benchmark kept
(``benchmarks/folders.py`` leaves its studies in a scratch folder, ``benchmarks/budget.py --keep``):

- **the winner's checkpoint averaged in**: the mean of the final training and the exploring
  trial whose params it trained (``final_of``; its short-schedule checkpoint, if kept), and
  whether a gate on the validation split (the study's metric: the mean at least as high as
  the final training alone) would have shipped it;
- **post-hoc logit adjustment**: ``log p - tau * log(prior)``, the prior being the training
  split's class shares, for a few ``tau`` (0 is the model as shipped).

Both with test-time flips, as the shipped folder spec exports. Prints accuracy, balanced accuracy and
macro F1 on the validation and test splits. ``--work`` is the folder the study ran in, ``--set``
the run's overrides (the study's name and data path, at least).

    PYTHONPATH=. .venv/bin/python benchmarks/final_alone.py --spec search_spaces/folder.toml \
        --work /tmp/cnnsearch-folders-XXXX/animals-48-imbalanced \
        --set data.path=/tmp/cnnsearch-folders-XXXX/images/animals-48-imbalanced \
        --set study.name=folders-animals-48-imbalanced
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import optuna  # noqa: E402

import cnnsearch  # noqa: E402
from cnnsearch.data import load  # noqa: E402
from cnnsearch.export._flips import with_flips  # noqa: E402
from cnnsearch.export._shipping import _from_checkpoint  # noqa: E402
from cnnsearch.search import kept, ranked  # noqa: E402
from cnnsearch.spec import as_ran, load_spec  # noqa: E402
from folders import FIGURES, figures  # noqa: E402

#: The logit adjustments tried (tau 0, the model as shipped, is the first row).
TAUS = (0.25, 0.5, 1.0)


def line(label: str, val: dict[str, float], test: dict[str, float]) -> str:
    cells = " | ".join(f"{row[k]:.4f}" for row in (val, test) for k in FIGURES)
    return f"| {label} | {cells} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="the folder the study ran in (holds mlruns/)")
    parser.add_argument("--set", action="append", default=[], help="the run's SECTION.KEY=VALUE overrides")
    args = parser.parse_args()
    spec_path = args.spec.resolve()
    os.chdir(args.work)
    study = cnnsearch.load_study(spec_path, overrides=args.set)
    spec = as_ran(load_spec(spec_path, args.set), study.metric_names)
    splits = load(spec.data, seed=spec.study.seed)
    files = kept(spec)
    trials = ranked(study)
    finals = [t for t in trials if "final_epochs" in t.user_attrs and "final_seed_of" not in t.user_attrs]
    if not finals or finals[0].number not in files:
        sys.exit("error: the study has no kept final training")
    final = finals[0]
    winner = next(t for t in study.trials if t.number == final.user_attrs.get("final_of"))

    def probs(trial: optuna.trial.FrozenTrial) -> tuple[np.ndarray, np.ndarray]:
        model = with_flips(_from_checkpoint(spec, trial, files[trial.number], splits)[0])
        return np.asarray(model.predict(splits.x_val, verbose=0)), np.asarray(model.predict(splits.x_test, verbose=0))

    metric = spec.study.metric
    pick = "balanced_accuracy" if "balanced" in metric else "macro_f1" if "f1" in metric else "accuracy"
    alone = probs(final)
    print(
        f"study {study.study_name}: final training trial {final.number} (of trial {winner.number}'s params), "
        f"study's best {'the final training' if trials[0] is final else f'trial {trials[0].number}'}; {metric}"
    )
    print("| shipped | val accuracy | val balanced | val macro F1 | test accuracy | test balanced | test macro F1 |")
    print("|---|---|---|---|---|---|---|")
    print(line("final training alone", figures(alone[0], splits.y_val), figures(alone[1], splits.y_test)))
    if winner.number in files:
        short = probs(winner)
        mean = ((alone[0] + short[0]) / 2, (alone[1] + short[1]) / 2)
        val_mean, val_alone = figures(mean[0], splits.y_val), figures(alone[0], splits.y_val)
        print(line(f"mean with trial {winner.number}'s checkpoint", val_mean, figures(mean[1], splits.y_test)))
        gate = "the mean" if val_mean[pick] >= val_alone[pick] else "the final training alone"
        print(f"gate on validation {metric}: {gate}")
    else:
        print(f"trial {winner.number}'s checkpoint is not kept: no mean")
    prior = np.bincount(splits.y_train, minlength=splits.num_classes) / len(splits.y_train)
    for tau in TAUS:
        shifted = [np.log(p + 1e-9) - tau * np.log(prior) for p in alone]
        print(
            line(f"logit adjustment tau {tau}", figures(shifted[0], splits.y_val), figures(shifted[1], splits.y_test))
        )


if __name__ == "__main__":
    main()
