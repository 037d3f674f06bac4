"""The spec: defaults, ranges, overrides, and one clear line for every class of bad spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnsearch.spec import Choices, FloatRange, IntRange, load_spec, spec_to_toml

REPO = Path(__file__).resolve().parents[3]

GOOD = '[data]\ndataset = "digits"\n'


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_fill_every_section(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.study.name == "spec"  # the file's stem
    assert spec.tracking.experiment == "spec"
    assert spec.model.blocks == IntRange(low=2, high=4)
    assert isinstance(spec.model.filters, Choices)
    assert spec.train.learning_rate == FloatRange(low=1e-4, high=1e-2, log=True)
    assert spec.augment.flip == "none"


def test_each_tunable_takes_constant_range_or_choices(tmp_path: Path) -> None:
    spec = load_spec(
        write(
            tmp_path,
            GOOD
            + "[model]\nblocks = 3\nfilters = { low = 8, high = 64, step = 8 }\n"
            + "dropout = { low = 0.0, high = 0.5, step = 0.1 }\nbatch_norm = true\n"
            + '[train]\noptimizer = { choices = ["adam", "rmsprop"] }\n',
        )
    )
    assert spec.model.blocks == 3
    assert spec.model.filters == IntRange(low=8, high=64, step=8)
    assert spec.model.dropout == FloatRange(low=0.0, high=0.5, step=0.1)
    assert spec.model.batch_norm is True
    assert spec.train.optimizer.choices == ["adam", "rmsprop"]


def test_resolved_toml_loads_back_identically(tmp_path: Path) -> None:
    spec = load_spec(REPO / "search_spaces" / "cifar10.toml")
    again = load_spec(write(tmp_path, spec_to_toml(spec), "cifar10-cnn.toml"))
    assert again == spec


def test_overrides_apply_with_toml_types(tmp_path: Path) -> None:
    spec = load_spec(
        write(tmp_path, GOOD),
        ["study.n_trials=5", "model.blocks={low=1,high=2}", "study.sampler=random", "study.timeout=90m"],
    )
    assert spec.study.n_trials == 5
    assert spec.model.blocks == IntRange(low=1, high=2)
    assert spec.study.sampler == "random"
    assert spec.study.timeout == 5400


def test_relative_path_in_file_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    sub = tmp_path / "specs"
    sub.mkdir()
    spec = load_spec(write(sub, '[data]\ndataset = "directory"\npath = "../images"\n'))
    assert Path(spec.data.path) == (tmp_path / "images").resolve()


# Each class of bad spec: (what is wrong, spec text, words the one-line message must hold).
BAD_SPECS = {
    "unknown key": (GOOD + "[model]\nblockz = 3\n", ["unknown key 'model.blockz'", "did you mean 'blocks'"]),
    "unknown section": (GOOD + "[modle]\nblocks = 3\n", ["unknown key 'modle'", "did you mean 'model'"]),
    "unknown range key": (GOOD + "[model]\nblocks = { low = 1, hihg = 3 }\n", ["unknown key 'model.blocks.hihg'"]),
    "low > high": (
        GOOD + "[model]\nblocks = { low = 5, high = 2 }\n",
        ["model.blocks", "low (5) is greater than high (2)"],
    ),
    "log with low <= 0": (
        GOOD + "[train]\nlearning_rate = { low = 0.0, high = 0.1, log = true }\n",
        ["train.learning_rate", "log range needs low > 0"],
    ),
    "empty choices": (GOOD + "[model]\nfilters = { choices = [] }\n", ["model.filters", "choices must not be empty"]),
    "wrong type": (GOOD + '[model]\nblocks = "three"\n', ["model.blocks", "expected an integer", "'three'"]),
    "wrong type in choices": (
        GOOD + '[train]\noptimizer = { choices = ["adam", "lion"] }\n',
        ["train.optimizer.choices[1]", "'lion'"],
    ),
    "float for an int": (GOOD + "[study]\nn_trials = 2.5\n", ["study.n_trials", "expected an integer"]),
    "out of bounds": (
        GOOD + "[model]\ndropout = { low = 0.0, high = 1.5 }\n",
        ["model.dropout", "outside the allowed"],
    ),
    "unknown dataset": ('[data]\ndataset = "imagenet"\n', ["data.dataset", "'imagenet'", "'cifar10'"]),
    "missing path": ('[data]\ndataset = "cifar10"\npath = "no/such/folder"\n', ["data.path", "does not exist"]),
    "path required": ('[data]\ndataset = "npz"\n', ["data.path", "needs a path"]),
    "missing section": ("[study]\nn_trials = 3\n", ["missing required key 'data'"]),
    "bad duration": (GOOD + '[study]\ntimeout = "2 hours"\n', ["study.timeout", "'2h'"]),
    "invalid toml": ("[data\n", ["invalid TOML", "line 1"]),
    "grid needs steps": (GOOD + '[study]\nsampler = "grid"\n', ["model.dropout", "grid sampler"]),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_exits_1_with_one_line(invoke, case: str, tmp_path: Path) -> None:
    text, expected = BAD_SPECS[case]
    path = write(tmp_path, text)
    line = invoke.error_line("validate", str(path))  # exit 1, one line on stderr, no traceback
    assert line.startswith(f"error: {path}")
    for words in expected:
        assert words in line


def test_shipped_specs_are_valid(tmp_path: Path) -> None:
    def dataset(path: Path) -> str:
        # An image-folder spec names the user's folder; it is given with --set data.path=... .
        needs_folder = 'dataset = "directory"' in path.read_text()
        return load_spec(path, [f"data.path={tmp_path}"] if needs_folder else []).data.dataset

    names = {dataset(path) for path in (REPO / "search_spaces").glob("*.toml")}
    assert {"cifar10", "mnist", "fashion_mnist", "digits", "directory"} <= names
