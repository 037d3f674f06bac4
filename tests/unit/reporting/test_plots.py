"""Learning-curve and study plots on real Optuna studies (synthetic objectives: no training)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import optuna
import pytest

from cnnsearch.reporting._plots import STUDY_PLOTS, plot_learning_curves, write_study_plots

HISTORY = {
    "loss": [2.2, 1.1, 0.6, 0.4, 0.3],
    "val_loss": [2.0, 1.2, 0.8, 0.7, 0.75],
    "accuracy": [0.3, 0.6, 0.8, 0.88, 0.92],
    "val_accuracy": [0.35, 0.58, 0.74, 0.8, 0.79],
}


def _png_is_drawn(path: Path) -> bool:
    """A real PNG with more than one colour in it (not a blank canvas)."""
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG"
        # maxcolors = every pixel: getcolors() cannot give up (None) and always counts.
        colours = image.convert("RGB").getcolors(maxcolors=image.width * image.height)
    assert colours is not None
    return len(colours) > 20


def test_learning_curves_png(tmp_path: Path) -> None:
    path = plot_learning_curves(HISTORY, "val_accuracy", 3, tmp_path / "c.png", marker_label="pruned", best_epoch=3)
    assert path.stat().st_size > 5_000 and _png_is_drawn(path)
    # NaN values and a loss-only metric draw too.
    nan = {"loss": [2.0, math.nan], "val_loss": [2.1, math.inf]}
    assert _png_is_drawn(plot_learning_curves(nan, "val_loss", None, tmp_path / "n.png"))


def _study(values: list[float | None], params: int = 2) -> optuna.Study:
    """A study whose trials return ``values`` in order; None fails that trial."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    it = iter(values)

    def objective(trial: optuna.Trial) -> float:
        for i in range(params):
            trial.suggest_float(f"x{i}", 0.0, 1.0)
        trial.suggest_categorical("opt", ["adam", "sgd"])
        value = next(it)
        if value is None:
            raise RuntimeError("failed on purpose")
        return value

    study.optimize(objective, n_trials=len(values), catch=(RuntimeError,))
    return study


def test_no_complete_trial_draws_nothing_and_does_not_raise(tmp_path: Path) -> None:
    outcome = write_study_plots(_study([None, None]), tmp_path)
    assert outcome == {name: "skipped: no complete trial yet" for name in STUDY_PLOTS}
    assert list(tmp_path.iterdir()) == []
    assert set(write_study_plots(optuna.create_study(), tmp_path / "empty").values()) == {
        "skipped: no complete trial yet"
    }


def test_one_complete_trial_draws_what_it_can(tmp_path: Path) -> None:
    outcome = write_study_plots(_study([0.5, None]), tmp_path)
    assert outcome["optimization_history"] == "ok"
    assert outcome["param_importances"] == "skipped: needs 2 complete trials"
    assert outcome["contour"] == "skipped: needs 2 complete trials"
    assert (tmp_path / "optimization_history.png").is_file()


def test_every_plot_as_png_and_offline_html(tmp_path: Path) -> None:
    values = [0.2, 0.5, None, 0.7, 0.4, 0.9, 0.6, 0.3]
    outcome = write_study_plots(_study(values, params=3), tmp_path)
    assert outcome == {name: "ok" for name in STUDY_PLOTS}
    for name in STUDY_PLOTS:
        assert _png_is_drawn(tmp_path / f"{name}.png"), name
        page = (tmp_path / f"{name}.html").read_text()
        assert 'src="http' not in page and "Plotly.newPlot" in page  # plotly.js is inside: works offline
        assert (tmp_path / f"{name}.html").stat().st_size > 1_000_000


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ("not a dict", AttributeError, "'str' object has no attribute 'get'"),  # no history mapping at all
        ({"loss": "x"}, TypeError, "must be real number, not str"),  # values that are not numbers
    ],
)
def test_learning_curves_bad_input_raises_for_the_caller_to_catch(
    tmp_path: Path, bad: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        plot_learning_curves(bad, "val_accuracy", None, tmp_path / "bad.png")  # type: ignore[arg-type]
    assert not (tmp_path / "bad.png").exists()  # nothing half-drawn is left behind


def _long_study(complete: int) -> optuna.Study:
    """``complete`` complete trials (and every third pruned) of 12 params with long names and categories."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # set_metric_names is experimental
        study.set_metric_names(["val_accuracy"])

    def objective(trial: optuna.Trial) -> float:
        total = sum(trial.suggest_float(f"augment_translation_{i}", 1e-4, 1e-1, log=True) for i in range(9))
        trial.suggest_categorical("head", ["global_average_pooling", "flatten_then_dense"])
        trial.suggest_categorical("optimizer", ["adam", "adamw", "sgd"])
        trial.suggest_int("blocks", 1, 3)
        if trial.number % 3 == 2:
            raise optuna.TrialPruned()
        return total

    while len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) < complete:
        study.optimize(objective, n_trials=1)
    return study


@pytest.fixture(scope="module")
def long_figures() -> dict:
    """The interactive figures of a 7-complete-trial study of 12 params (drawn once: plotly costs seconds)."""
    from cnnsearch.reporting._plots import study_figures

    return study_figures(_long_study(7))


def test_importances_are_marked_uncertain_under_20_complete_trials(long_figures: dict) -> None:
    from cnnsearch.reporting._page import render
    from cnnsearch.reporting._plots import importance_title
    from cnnsearch.spec import validate_spec

    assert long_figures["param_importances"].layout.title.text == (
        "Hyperparameter importances (fANOVA)<br><sup>uncertain: only 7 complete trials (under 20);"
        " the ranking can change with more trials or another evaluator</sup>"
    )
    spec = validate_spec({"study": {"name": "long"}, "data": {"dataset": "digits"}})
    page = render(_long_study(7), spec)
    assert "<p class='note'>These importances are uncertain: only 7 complete trials (under 20);" in page
    assert importance_title(_long_study(20)) == ("Hyperparameter importances (fANOVA)", "from 20 complete trials")


def test_slice_and_parallel_coordinate_labels_have_room(long_figures: dict) -> None:
    """12 params: the slice plot is a 4-column grid whose subplots do not overlap; long tick labels are cut."""
    layout = long_figures["slice"].layout
    boxes = [(layout[f"xaxis{s}"].domain, layout[f"yaxis{s}"].domain) for s in ["", *map(str, range(2, 13))]]
    assert len({round(x[0], 3) for x, _ in boxes}) == 4 and len({round(y[0], 3) for _, y in boxes}) == 3  # 4 x 3
    for i, (x, y) in enumerate(boxes):
        for x2, y2 in boxes[i + 1 :]:
            assert x[1] <= x2[0] or x2[1] <= x[0] or y[1] <= y2[0] or y2[1] <= y[0], (x, y, x2, y2)
    assert layout.height == 3 * 300 + 120 and layout.width is None
    assert layout.yaxis.title.text == "val_accuracy"  # the metric, not "Objective Value"
    head = next(layout[k] for k in layout if k.startswith("xaxis") and layout[k].title.text == "head")
    assert list(head.ticktext) == ["'global_a…", "'flatten_…"]

    parallel = long_figures["parallel_coordinate"].layout
    assert parallel.xaxis.tickangle == -30
    assert max(len(note.text) for note in parallel.annotations) <= 10
    assert {"global_av…", "flatten_t…"} <= {note.text for note in parallel.annotations}
