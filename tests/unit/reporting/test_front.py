"""The front as a table and a plot, on a real in-memory multi-objective study (no training)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from cnnsearch.reporting import front_table, plot_front, trials_frame
from cnnsearch.reporting._front import front_frame, write_front_plot
from cnnsearch.spec import load_spec
from tests.helpers import SpecFile

OBJECTIVES = (
    'study.objectives=[{ metric = "val_accuracy", direction = "maximize" }, '
    '{ metric = "latency_ms", direction = "minimize" }]'
)


@pytest.fixture
def study() -> optuna.Study:
    """Three complete trials (1 dominated), a pruned one and one over the limit (never trained)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="edge", directions=["maximize", "minimize"])
    dist: dict[str, optuna.distributions.BaseDistribution] = {
        "filters": optuna.distributions.CategoricalDistribution([8, 16, 32])
    }
    for accuracy, latency, filters in ((0.9, 2.0, 32), (0.8, 1.0, 16), (0.7, 2.5, 16)):
        costs = {"latency_ms": latency, "params": filters * 100}
        study.add_trial(
            create_trial(
                values=[accuracy, latency],
                params={"filters": filters},
                distributions=dist,
                user_attrs={"costs": costs, "epochs_run": 5},
                system_attrs={"constraints:max_latency_ms": latency / 3 - 1},
            )
        )
    study.add_trial(
        create_trial(
            state=TrialState.PRUNED, user_attrs={"costs": {"latency_ms": 1.5, "params": 800}, "curve": [0.2, 0.3]}
        )
    )
    study.add_trial(
        create_trial(
            state=TrialState.PRUNED,
            user_attrs={"costs": {"latency_ms": 6.0, "params": 9000}, "infeasible": "latency_ms 6 > max_latency_ms 3"},
            system_attrs={"constraints:max_latency_ms": 1.0},
        )
    )
    return study


def test_front_frame_and_trials_front_only(study: optuna.Study, tiny_spec_file: SpecFile) -> None:
    spec = load_spec(tiny_spec_file(), [OBJECTIVES, "study.max_latency_ms=3"])
    frame = front_frame(study, spec)
    assert frame["number"].tolist() == [0, 1]  # best score first; trial 2 is dominated by trial 1
    assert frame["costs.latency_ms"].tolist() == [2.0, 1.0]
    assert trials_frame(study, spec, front_only=True)["number"].tolist() == [0, 1]
    every = trials_frame(study, spec)
    assert every.loc[4, "infeasible"] == "latency_ms 6 > max_latency_ms 3" and every.loc[4, "costs.params"] == 9000
    assert every.loc[0, "value"] == 0.9  # the score: Optuna's FrozenTrial.value raises in such a study

    lines = front_table(frame, "Front of 'edge' (2 trials)", "val_accuracy", width=100)
    header = str(lines[1]).split()
    assert header[:2] == ["trial", "val_accuracy"] and {"latency_ms", "filters"} <= set(header), header
    assert [str(line).split()[0] for line in lines[2:4]] == ["0", "1"]  # one line per trial, best first
    assert not any(str(line).endswith(" ") for line in lines)


def test_the_plot_shows_feasible_and_infeasible_trials(
    study: optuna.Study, tiny_spec_file: SpecFile, tmp_path: Path
) -> None:
    spec = load_spec(tiny_spec_file(), [OBJECTIVES, "study.max_latency_ms=3", "study.max_params=5000"])
    written = write_front_plot(study, spec, tmp_path)
    assert [p.name for p in written] == ["pareto_front.png", "pareto_front.html"]
    html = (tmp_path / "pareto_front.html").read_text()
    for group in ("front", "dominated", "pruned", "over a limit (not trained)"):
        assert f'"name":"{group}"' in html, group
    # A study that measured no cost has nothing to plot.
    plain = optuna.create_study()
    assert plot_front(plain, load_spec(tiny_spec_file()), tmp_path / "none.png") is None
