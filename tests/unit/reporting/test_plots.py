"""Learning-curve and study plots on real Optuna studies (synthetic objectives: no training)."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest

from cnnsearch.reporting import STUDY_PLOTS, plot_learning_curves, write_study_plots

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
