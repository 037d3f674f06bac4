"""The spec: defaults, ranges, overrides, and one clear line for every class of bad spec."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnnsearch.errors import SpecError
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
    # The spec's shape: a section that is no table, nesting and integers Python's parser gives up on.
    "section not a table": ("study = 5\n" + GOOD, ["study: expected a table, got 5"]),
    "array of tables": ('[[study]]\nname = "x"\n' + GOOD, ["study: expected a table, got [{'name': 'x'}]"]),
    "nested thousands deep": (
        GOOD + "[study]\ninitial_params = { a = " + "[" * 3000 + "]" * 3000 + " }\n",
        ["invalid TOML: arrays or inline tables nested too deep"],
    ),
    "nested past the schema's depth": (
        GOOD + "[study]\ninitial_params = { a = " + "[" * 20 + "]" * 20 + " }\n",
        ["study.initial_params.a[0][0]", "nested too deep (more than 10 levels"],
    ),
    "integer of thousands of digits": (
        GOOD + "[study]\nseed = " + "9" * 5000 + "\n",
        ["invalid TOML: line 4: an integer of 5000 digits", "64 bits"],
    ),
    # Values each field used to take, that failed only once trials ran.
    "zero timeout as a duration": (
        GOOD + '[study]\ntimeout = "0s"\n',
        ["study.timeout", "got '0s'", "leave timeout out"],
    ),
    "huge steps_per_execution": (
        GOOD + "[performance]\nsteps_per_execution = 1000000000000\n",
        ["performance.steps_per_execution", "from 1 to 10000"],
    ),
    "infinite class weight": (
        GOOD + "[train]\nclass_weight = { 3 = inf }\n",
        ["train.class_weight.3", "finite", "inf"],
    ),
    "nan anywhere": (GOOD + "[augment]\nzoom = nan\n", ["augment.zoom: expected a finite number, got nan"]),
    "infinite step": (
        GOOD + "[model]\ndropout = { low = 0.0, high = 0.5, step = inf }\n",
        ["model.dropout.step: expected a finite number, got inf"],
    ),
    "integer of 2**63": (
        GOOD + "[study]\nn_trials = 9223372036854775808\n",
        ["study.n_trials: 9223372036854775808 does not fit in 64 bits"],
    ),
    "integer below -2**63": (
        GOOD + "[model]\nblocks = { low = -9223372036854775809, high = 2 }\n",
        ["model.blocks.low", "does not fit in 64 bits"],
    ),
    "huge image size": (GOOD + "image_size = [100000, 100000]\n", ["data.image_size", "from 1 to 1024"]),
    "huge network": (
        GOOD + "[model]\nfilters = 4096\nfilter_growth = 4.0\nblocks = 12\n",
        ["model: the largest network this space can draw has about", "at most 2e+09 are allowed"],
    ),
    "huge grid": (
        GOOD + '[study]\nsampler = "grid"\n[model]\ndropout = 0.1\nfilters = { low = 1, high = 4096 }\n'
        "dense_units = { low = 0, high = 8192 }\n[train]\nlearning_rate = 0.01\n",
        ["study.sampler: the grid has about", "at most 1,000,000"],
    ),
    "empty data path": ('[data]\ndataset = "npz"\npath = ""\n', ["data.path: must not be empty"]),
    "empty storage": (GOOD + '[study]\nstorage = ""\n', ["study.storage", "*.journal file or a database URL", "''"]),
    "storage neither journal nor URL": (GOOD + '[study]\nstorage = "optuna.db"\n', ["study.storage", "'optuna.db'"]),
    "negative seed": (GOOD + "[study]\nseed = -1\n", ["study.seed: expected an integer from 0 to 4294967295, got -1"]),
    "seed over 2**32-1": (GOOD + "[study]\nseed = 4294967296\n", ["study.seed", "got 4294967296"]),
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


# The same classes from --set: the line names --set (and the key when the value does not parse).
BAD_OVERRIDES = {
    "section not a table": (["study=5"], "error: --set: study: expected a table, got 5"),
    "nested thousands deep": (
        ["study.initial_params=" + "[" * 3000 + "]" * 3000],
        "error: --set study.initial_params: invalid TOML: arrays or inline tables nested too deep",
    ),
    "integer of thousands of digits": (
        ["study.seed=" + "9" * 5000],
        "error: --set study.seed: invalid TOML: an integer of 5000 digits",
    ),
    "negative seed": (["study.seed=-5"], "error: --set: study.seed: expected an integer from 0 to 4294967295, got -5"),
    "nan class weight": (
        ["train.class_weight={3=nan}"],
        "error: --set: train.class_weight.3: expected a finite number",
    ),
    "empty data path": (["data.dataset=npz", "data.path="], "error: --set: data.path: must not be empty"),
    "huge grid": (
        [
            "study.sampler=grid",
            "model.dropout=0.1",
            "model.filters={low=1,high=4096}",
            "model.blocks={low=1,high=12}",
            "train.learning_rate=0.01",
        ],
        "error: --set: study.sampler: the grid has about",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_OVERRIDES))
def test_bad_override_exits_1_with_one_line(invoke, case: str, tmp_path: Path) -> None:
    overrides, expected = BAD_OVERRIDES[case]
    path = write(tmp_path, GOOD)
    line = invoke.error_line("validate", str(path), *[arg for item in overrides for arg in ("--set", item)])
    assert line.startswith(expected), line


def test_relative_storage_in_file_is_relative_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = tmp_path / "specs"
    sub.mkdir()
    monkeypatch.chdir(tmp_path)
    spec = load_spec(write(sub, GOOD + '[study]\nstorage = "store/s.journal"\n'))
    assert spec.study.storage == str(sub / "store" / "s.journal")


def test_relative_storage_on_the_command_line_is_relative_to_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = tmp_path / "specs"
    sub.mkdir()
    monkeypatch.chdir(tmp_path)
    spec = load_spec(write(sub, GOOD), ["study.storage=s.journal"])
    assert spec.study.storage == str(tmp_path / "s.journal")
    url = "sqlite:///optuna.db"  # a URL is no path: left as it is
    assert load_spec(write(sub, GOOD), [f"study.storage={url}"]).study.storage == url


def test_spec_file_name_too_long_is_one_line(invoke, tmp_path: Path) -> None:
    path = tmp_path / ("s" * 300 + ".toml")
    line = invoke.error_line("validate", str(path))
    assert line.startswith(f"error: {str(path)[:30]}") and "spec file" in line
    assert "255 bytes" in line  # the component's length and the file system's limit


def test_data_path_too_long_or_with_nul_is_one_line(invoke, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    line = invoke.error_line("validate", str(path), "--set", "data.dataset=npz", "--set", "data.path=" + "a" * 300)
    assert line.startswith("error: --set: data.path:") and "too long a name for the file system" in line
    spec = write(tmp_path, '[data]\ndataset = "npz"\npath = "a\\u0000b.npz"\n', "nul.toml")
    assert "data.path: " in invoke.error_line("validate", str(spec)) and "NUL character" in invoke.error_line(
        "validate", str(spec)
    )


def test_whole_table_problem_from_set_names_file_and_set(invoke, tmp_path: Path) -> None:
    """The network [model] can draw is too big only with the --set values: the line says both."""
    path = write(tmp_path, GOOD)
    line = invoke.error_line(
        "validate",
        str(path),
        "--set",
        "model.filters=4096",
        "--set",
        "model.filter_growth=4.0",
        "--set",
        "model.blocks=12",
    )
    assert line.startswith(f"error: {path} (with --set): model: the largest network this space can draw")


def test_spec_file_in_a_symlink_loop_or_a_folder_is_one_line(invoke, tmp_path: Path) -> None:
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    line = invoke.error_line("validate", str(tmp_path / "a.toml"))
    assert line.startswith(f"error: {tmp_path / 'a.toml'}: ") and "spec file's path is a symlink loop" in line
    assert invoke.error_line("validate", str(tmp_path)).endswith(
        "the spec file's path is a folder; expected a spec file (TOML)"
    )


def test_spec_file_that_is_a_fifo_is_one_line_and_never_blocks(invoke, tmp_path: Path) -> None:
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    assert invoke.error_line("validate", str(fifo)).endswith(
        "is not a regular file (a FIFO, socket or device); expected a spec file (TOML)"
    )
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(fifo)


def test_control_character_in_study_name_is_refused(invoke, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    for name in ("a\\u0000b", "a\\nb"):
        line = invoke.error_line("validate", str(path), "--set", f'study.name="{name}"')
        assert "study.name: " in line and "control character" in line
