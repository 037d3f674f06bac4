"""`cnnsearch best --export` and `cnnsearch predict`, end to end on a tiny digits study.

One study and one export are shared by the module (they take ~30 s); each test checks one
promise: the files, their round trips, the card's figures, the registry, predict.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from cnnsearch.data import Splits
from tests.e2e.conftest import Cli
from tests.helpers import SeedStore, SpecText, run_in

pytestmark = pytest.mark.slow
AUGMENTED = "\n[augment]\ntranslation = 0.05\nrotation = 0.05\n"


@pytest.fixture(scope="module")
def exported(
    cli: Cli, tiny_spec_text: SpecText, seed_store: SeedStore, tmp_path_factory: pytest.TempPathFactory
) -> dict:
    """A 2-trial study with augmentation, then `best --export --format json` into the default folder."""
    root = tmp_path_factory.mktemp("export")
    seed_store(root)
    spec = root / "tiny.toml"
    text = tiny_spec_text(n_trials=2, epochs=4, pruner="none", extra=AUGMENTED)
    # A fixed, brisk learning rate and a wider net: the exported model should learn something in 4 epochs.
    for searched, fixed in (
        ("learning_rate = { low = 1e-3, high = 1e-2, log = true }", "learning_rate = 0.01"),
        ("filters = { choices = [8, 16] }", "filters = 32"),
        ("dense_units = { choices = [0, 32] }", "dense_units = 64"),
    ):
        text = text.replace(searched, fixed)
    spec.write_text(text)
    run_in(root, spec)  # the subject is the export, through the CLI: the search runs in this process
    result = cli("best", str(spec), "--export", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    directory = root / "exports" / "tiny"
    card = json.loads((directory / "model_card.json").read_text())
    return {"root": root, "spec": spec, "record": record, "dir": directory, "card": card, "log": result.stderr}


def _splits(spec: Path) -> Splits:
    from cnnsearch.data import load
    from cnnsearch.spec import load_spec

    resolved = load_spec(spec, [])
    return load(resolved.data, resolved.study.seed)


def test_export_writes_every_format_and_the_card(exported: dict) -> None:
    directory, card, record = exported["dir"], exported["card"], exported["record"]
    for name in (
        "model.keras",
        "saved_model",
        "model.onnx",
        "model.tflite",
        "model_card.md",
        "model_card.json",
        "confusion_matrix.png",
        "training_curves.png",
        "spec.toml",
    ):
        assert (directory / name).exists(), name
    assert [e["format"] for e in card["exports"]] == ["keras", "saved_model", "onnx", "tflite"]
    assert card["input"] == {**card["input"], "shape": [8, 8, 1], "dtype": "uint8", "channels": 1}
    assert card["classes"] == [str(i) for i in range(10)]
    assert card["input"]["scaling"] == "scikit-learn's digits are 0-16: pixel = round(v * 255 / 16), as uint8"
    assert (
        "- Pixel scaling: scikit-learn's digits are 0-16: pixel = round(v * 255 / 16)"
        in (directory / "model_card.md").read_text()
    )
    assert card["search"]["trial"] == record["number"]
    assert card["search"]["metric"] == "val_accuracy"
    assert card["params"]["translation"] == 0.05
    for name in ("keras", "tensorflow", "optuna", "mlflow", "cnnsearch"):
        assert card["versions"][name] not in ("", "not installed"), name
    assert "[study]" in card["spec_toml"]
    # The default rule: the mean of the kept checkpoints (both trials), trained on the training split.
    assert card["shipped"]["rule"] == "ensemble" and card["shipped"]["asked"] == "ensemble"
    assert sorted(m["trial"] for m in card["shipped"]["members"]) == [0, 1]
    assert card["shipped"]["members"][0]["trial"] == record["number"]  # best first
    assert card["training"]["train_samples"] == 360  # 400 images less the 10% validation split
    assert record["export"]["test_accuracy"] == card["test"]["accuracy"]
    md = (directory / "model_card.md").read_text()
    assert f"| accuracy | {card['test']['accuracy']:.4f} |" in md
    assert "![confusion matrix](confusion_matrix.png)" in md
    assert "Shipping the mean of trials" in exported["log"] and "model.onnx" in exported["log"]
    assert "Shipped (ensemble" in md


def test_fresh_process_reproduces_card_accuracy(cli: Cli, exported: dict) -> None:
    """model.keras exactly; SavedModel, ONNX and LiteRT within half a point; all on raw uint8 images."""
    script = textwrap.dedent(
        f"""
        import json
        import numpy as np
        from cnnsearch.data import load
        from cnnsearch.export._formats import FORMATS
        from cnnsearch.spec import load_spec
        spec = load_spec({str(exported["spec"])!r}, [])
        splits = load(spec.data, spec.study.seed)
        out = {{}}
        for name, fmt in FORMATS.items():
            probs = fmt.predict({str(exported["dir"])!r} / __import__("pathlib").Path(fmt.filename), splits.x_test)
            out[name] = float(np.mean(probs.argmax(1) == splits.y_test))
        print(json.dumps(out))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], env=cli.env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    accuracy = json.loads(result.stdout.strip().splitlines()[-1])
    expected = exported["card"]["test"]["accuracy"]
    assert accuracy["keras"] == expected
    for name in ("saved_model", "onnx", "tflite"):
        assert abs(accuracy[name] - expected) <= 0.005, (name, accuracy[name], expected)


def test_exported_model_has_no_augmentation_and_takes_uint8(exported: dict) -> None:
    import keras

    from cnnsearch.models._plain import AUGMENTATION

    model = keras.models.load_model(exported["dir"] / "model.keras")
    names = [layer.name for layer in model.layers]
    assert AUGMENTATION not in names and not any("rotation" in n or "translation" in n for n in names)
    assert model.inputs[0].dtype == "uint8"
    assert exported["card"]["model"]["augmentation_in_export"] is False


def test_card_figures_match_sklearn_on_the_same_predictions(exported: dict) -> None:
    import keras
    from sklearn.metrics import (
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
        top_k_accuracy_score,
    )

    splits = _splits(exported["spec"])
    model = keras.models.load_model(exported["dir"] / "model.keras")
    probs = model.predict(splits.x_test, verbose=0)
    y, pred, labels = splits.y_test, probs.argmax(1), list(range(10))
    test = exported["card"]["test"]
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    for i, row in enumerate(test["per_class"]):
        assert row["precision"] == pytest.approx(precision[i], abs=1e-12)
        assert row["recall"] == pytest.approx(recall[i], abs=1e-12)
        assert row["f1"] == pytest.approx(f1[i], abs=1e-12)
        assert row["support"] == support[i]
    assert test["accuracy"] == pytest.approx(np.mean(pred == y), abs=1e-12)
    assert test["top_k_accuracy"] == pytest.approx(
        top_k_accuracy_score(y, probs, k=test["top_k"], labels=labels), abs=1e-12
    )
    assert test["macro_roc_auc"] == pytest.approx(roc_auc_score(y, probs, multi_class="ovr", labels=labels), abs=1e-9)
    assert test["confusion_matrix"] == confusion_matrix(y, pred, labels=labels).tolist()
    assert sum(map(sum, test["confusion_matrix"])) == len(y) == test["samples"]


def test_second_export_is_version_2_linked_to_the_study_run(cli: Cli, exported: dict) -> None:
    root, card = exported["root"], exported["card"]
    again = cli("best", str(exported["spec"]), "--export", "second", "--formats", "keras", cwd=root)
    assert again.returncode == 0, again.stderr
    for noise in ("oneDNN", "cuInit", "absl"):  # TensorFlow's C++ start-up lines, silenced as `run` does
        assert noise not in again.stderr
    assert "version 2" in again.stdout
    second = json.loads((root / "second" / "model_card.json").read_text())
    assert second["mlflow"]["version"] == "2"
    # The same checkpoints, the same model: the export repeats exactly.
    assert second["test"] == card["test"]

    client = MlflowClient(card["mlflow"]["tracking_uri"])
    versions = client.search_model_versions(f"name = '{card['mlflow']['registered_model']}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    # Each version explains itself; the repeat ties on test accuracy, so version 1 stays the champion.
    import hashlib

    name = card["mlflow"]["registered_model"]
    assert card["mlflow"]["champion"] is True and second["mlflow"]["champion"] is False
    assert "(alias champion)" in exported["log"] and "(alias champion)" not in again.stdout
    for number, exported_card in (("1", card), ("2", second)):
        stored = client.get_model_version(name, number)
        assert stored.tags == {
            "test_accuracy": f"{exported_card['test']['accuracy']:.6f}",
            "study": "tiny",
            "trial": str(exported_card["search"]["trial"]),
            "spec_sha256": hashlib.sha256(
                (root / ("exports/tiny" if number == "1" else "second") / "spec.toml").read_bytes()
            ).hexdigest(),
        }
        assert f"Test accuracy {exported_card['test']['accuracy']:.4f}" in str(stored.description)
        assert f"Shipped: {exported_card['shipped']['description']}." in str(stored.description)
    assert "On export the `champion` stayed version 1" in str(client.get_model_version(name, "2").description)
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"  # MLflow answers an int here
    run = client.get_run(card["mlflow"]["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.parentRunId"] == card["mlflow"]["parent_run_id"]
    assert run.data.tags["cnnsearch.kind"] == "export"
    assert run.data.metrics["test_accuracy"] == pytest.approx(card["test"]["accuracy"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "card")}
    assert {"card/model_card.json", "card/model_card.md", "card/confusion_matrix.png"} <= artifacts
    # The logged MLflow model loads and predicts raw images.
    import mlflow

    from cnnsearch.tracking._registry import tracking_uri_set as _tracking_uri

    with _tracking_uri(card["mlflow"]["tracking_uri"]):  # not mlflow.set_tracking_uri: it would leak into later tests
        model = mlflow.pyfunc.load_model(f"models:/{card['mlflow']['registered_model']}/1")
    splits = _splits(exported["spec"])
    # No input schema (MLflow would cast a request to it unchecked): the model checks and states its contract.
    assert model.metadata.get_input_schema() is None
    assert model.metadata.metadata["input"].startswith("a batch of images shaped (N, 8, 8, 1) with pixel values 0-255")
    assert model.metadata.metadata["classes"] == [str(c) for c in range(10)]
    probs = np.asarray(model.predict(splits.x_test[:16]))
    assert probs.shape == (16, 10)
    np.testing.assert_allclose(probs, model.predict(splits.x_test[:16].astype(np.float32)), atol=1e-6)


def test_predict_png_files_gives_their_classes_and_reports_bad_files(cli: Cli, exported: dict, tmp_path: Path) -> None:
    import keras
    from PIL import Image

    splits = _splits(exported["spec"])
    model = keras.models.load_model(exported["dir"] / "model.keras")
    expected = model.predict(splits.x_test[:12], verbose=0).argmax(1)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(splits.x_test[i][..., 0]).save(folder / f"digit{i:02d}.png")
    # A bigger RGB image is converted as the card says (resized, to grayscale).
    Image.fromarray(splits.x_test[0][..., 0]).convert("RGB").resize((8, 8)).save(tmp_path / "rgb.png")
    (tmp_path / "broken.png").write_bytes(b"not an image at all")

    result = cli(
        "predict",
        str(exported["dir"]),
        str(folder),
        str(tmp_path / "rgb.png"),
        str(tmp_path / "broken.png"),
        str(tmp_path / "missing.jpg"),
        "--format",
        "json",
        "-k",
        "2",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    rows = {Path(r["file"]).name: r for r in json.loads(result.stdout)}
    assert len(rows) == 15
    for i in range(12):
        top = rows[f"digit{i:02d}.png"]["predictions"]
        assert len(top) == 2 and top[0]["probability"] >= top[1]["probability"]
        assert top[0]["class"] == str(expected[i])
    # Read back from PNG, the images score as the in-memory arrays do (a 4-epoch model).
    labels = [rows[f"digit{i:02d}.png"]["predictions"][0]["class"] for i in range(12)]
    assert np.mean([label == str(y) for label, y in zip(labels, splits.y_test[:12])]) == np.mean(
        expected == splits.y_test[:12]
    )
    assert rows["rgb.png"]["predictions"][0]["class"] == str(expected[0])
    assert rows["broken.png"]["error"] == "not an image"  # the decode cache's words
    assert "no such file" in rows["missing.jpg"]["error"]
    assert "error: " in result.stderr and "broken.png" in result.stderr

    table = cli("predict", str(exported["dir"]), str(folder / "digit00.png"), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    header, line = table.stdout.strip().splitlines()
    assert header.split()[:2] == ["file", "top"] and line.split()[1] == str(expected[0])


def test_export_errors_are_one_line(cli: Cli, exported: dict, workdir: Path) -> None:
    spec = exported["spec"]
    stray = cli("best", str(spec), "somewhere", cwd=workdir)
    assert stray.returncode == 1 and stray.stderr.strip().count("\n") == 0 and "needs --export" in stray.stderr
    bad_format = cli("best", str(spec), "--export", "--formats", "keras,pickle", cwd=exported["root"])
    assert bad_format.returncode == 1 and "unknown format 'pickle'" in bad_format.stderr
    no_study = cli("best", str(spec), "--export", cwd=workdir)  # no mlruns/ here
    assert no_study.returncode == 1 and "no study named 'tiny'" in no_study.stderr
    not_export = cli("predict", str(workdir), str(spec), cwd=workdir)
    assert not_export.returncode == 1 and "not a cnnsearch export" in not_export.stderr
