"""Loading a folder of images: cnnsearch's decode cache against ``keras.utils.image_dataset_from_directory``.

Two folders are written at run time into a scratch directory (never into the repository):

- ``photos``: CIFAR-10 subset images upscaled to 4000 x 3000 JPEGs (quality 90, mild noise,
  so files are photo-sized), ``--photos`` of them over 6 classes;
- ``pngs``: the whole CIFAR-10 subset (train and test batches) written as 32 x 32 PNGs.

Each loader runs in a fresh process (its peak RSS is its own), twice: the second run is the
rerun (cnnsearch reopens its cache; Keras decodes again). Per run: peak memory, seconds until
the first training batch, images decoded per second, and (cnnsearch) whether the cache was hit.
``--before PATH`` adds the loader of another checkout (``main`` before this change) on the
photo folder, for the issue's "now" column.

    flock /tmp/cnnsearch-bench.lock env PYTHONPATH=. .venv/bin/python benchmarks/loading.py --photos 60
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT.parent / "shared" / "data" / "cifar10-subset"
SPEC = ROOT / "search_spaces" / "folder.toml"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# One measurement, run in a child process: prints a JSON line.
CHILD = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
loader, folder, size, cwd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.chdir(cwd)
started = time.perf_counter()
if loader == "keras":
    import keras
    dataset = keras.utils.image_dataset_from_directory(
        folder, image_size=(size, size), batch_size=32, shuffle=True, seed=0, verbose=False
    )
    first = None
    count = 0
    for x, y in dataset:
        if first is None:
            first = time.perf_counter() - started
        count += int(x.shape[0])
    hit = None
else:
    from cnnsearch.data import load
    from cnnsearch.spec import DataSpec
    splits = load(DataSpec(dataset="directory", path=folder, image_size=[size, size], channels=3), seed=0)
    first = time.perf_counter() - started
    count = len(splits.y_train) + len(splits.y_val) + len(splits.y_test)
    hit = getattr(getattr(splits, "source", None), "cache_hit", None)  # None: a checkout without the cache
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report its parent's peak.
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"first_batch_s": first, "seconds": seconds, "images": count, "peak_mib": peak, "cache_hit": hit}))
"""


# One worker's data, held as training holds it: loaded as `run` (limit "none") or as a worker of
# `run --workers` (limit "shared") loads it, then one epoch of a tiny model through cnnsearch's `fit`
# (Keras copies arrays into tensors; a stream holds batches). Prints "ready", then waits for the parent
# to read its /proc/<pid>/smaps_rollup.
HOLDER = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
folder, size, cwd, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
os.chdir(cwd)
import keras
from cnnsearch.data import load
from cnnsearch.spec import DataSpec, PerformanceSpec
from cnnsearch.training import fit, resolve
splits = load(DataSpec(dataset="directory", path=folder, image_size=[size, size], channels=3,
                       memory_limit=None if limit in ("none", "shared") else limit), seed=0, shared=limit == "shared")
L = keras.layers
model = keras.Sequential([keras.Input(splits.input_shape), L.Rescaling(1 / 255), L.Conv2D(4, 3, strides=4),
                          L.GlobalAveragePooling2D(), L.Dense(splits.num_classes, activation="softmax")])
params = {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 64, "epochs": 1}
fit(model, splits, params, callbacks=[], performance=resolve(PerformanceSpec()))
print("ready", bool(splits.source.streamed), flush=True)
sys.stdin.read()
"""

# Epoch time and accuracy, in memory and streamed, with the trials' own [performance] settings
# ("auto": 8 steps per execution on a CPU): prints a JSON line.
TRAINER = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
folder, size, cwd, limit, epochs, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
os.chdir(cwd)
import keras
from cnnsearch.data import load
from cnnsearch.spec import DataSpec, PerformanceSpec
from cnnsearch.training import fit, resolve
splits = load(DataSpec(dataset="directory", path=folder, image_size=[size, size], channels=3,
                       memory_limit=None if limit == "none" else limit), seed=0)
keras.utils.set_random_seed(seed)
L = keras.layers
model = keras.Sequential([keras.Input(splits.input_shape), L.Rescaling(1 / 255), L.Conv2D(32, 3, activation="relu"),
    L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"),
    L.GlobalAveragePooling2D(), L.Dense(64, activation="relu"), L.Dense(splits.num_classes, activation="softmax")])
class Clock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None): self.times = []
    def on_epoch_begin(self, epoch, logs=None): self.started = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None): self.times.append(time.perf_counter() - self.started)
clock = Clock()
params = {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 64, "epochs": epochs}
history = fit(model, splits, params, callbacks=[clock], performance=resolve(PerformanceSpec()))
print(json.dumps({"epoch_s": clock.times, "val_accuracy": history.history["val_accuracy"],
                  "streamed": bool(splits.source.streamed), "train": len(splits.y_train)}))
"""


# The input pipeline alone, no training: CPU seconds per epoch of reading every batch, Keras's own
# pipeline over arrays in memory against cnnsearch's stream over the memory-mapped splits.
PIPELINE = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
folder, size, cwd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.chdir(cwd)
import numpy as np
from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
from cnnsearch.data import batches, load
from cnnsearch.spec import DataSpec
spec = DataSpec(dataset="directory", path=folder, image_size=[size, size], channels=3)
held = load(spec, seed=0)
mapped = load(spec.model_copy(update={"memory_limit": "1KB"}), seed=0)
sides = {"in memory": lambda: ArrayDataAdapter(held.x_train, held.y_train, batch_size=64, shuffle=True).get_tf_dataset(),
         "streamed": lambda: batches(mapped.x_train, mapped.y_train, 64, shuffle=True)}
out = {name: [] for name in sides}
for _ in range(5):
    for name, make in sides.items():
        stream = make()
        for _ in stream: pass  # warm: pages read, functions traced
        cpu = time.process_time()
        for _ in stream: pass
        out[name].append(time.process_time() - cpu)
print(json.dumps({name: float(np.median(v)) for name, v in out.items()}))
"""


def pss(folder: Path, size: int, cwd: Path, limit: str, workers: int = 2) -> tuple[float, float, str]:
    """Sum over ``workers`` processes holding the data (after one process built the cache): PSS and RSS in
    MiB, and whether it was streamed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Decode (and, streamed, write the splits) once first, as `run --workers` does before its workers start.
    warm = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), str(size), str(cwd), limit],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    warm.communicate("")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(folder), str(size), str(cwd), limit],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(workers)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            ready = proc.stdout.readline().split()
            assert ready[:1] == ["ready"] and ready[1] == str(limit != "none"), ready
        totals = {"Pss:": 0.0, "Rss:": 0.0}
        for proc in procs:
            for line in Path(f"/proc/{proc.pid}/smaps_rollup").read_text().splitlines():
                key = line.split()[0]
                if key in totals:
                    totals[key] += int(line.split()[1]) / 1024
    finally:
        for proc in procs:
            proc.communicate("")
    how = "in memory (as one process loads it)" if limit == "none" else "streamed (as `run --workers` loads it)"
    return totals["Pss:"], totals["Rss:"], how


def train(folder: Path, size: int, cwd: Path, limit: str, epochs: int, seed: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", TRAINER, str(folder), str(size), str(cwd), limit, str(epochs), str(seed)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(lines[-1])


def whole_run(folder: Path, size: int, cwd: Path) -> tuple[float, float]:
    """Peak RSS (MiB) and wall seconds of ``cnnsearch run folder.toml``: 1 trial, 1 epoch, a fresh mlruns/."""
    cwd.mkdir()
    sets = [f"data.path={folder}", f"data.image_size=[{size},{size}]", "study.n_trials=1", "train.epochs=1"]
    sets += ["study.final_share=0", "study.startup_trials=1", "data.max_bad_fraction=0.5"]
    command = ["/usr/bin/time", "-f", "%M %e", sys.executable, "-m", "cnnsearch", "run", str(SPEC)]
    command += [a for item in sets for a in ("--set", item)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    peak_kb, seconds = out.stderr.strip().splitlines()[-1].split()
    return int(peak_kb) / 1024, float(seconds)


def save_small(source: Path, target: Path, size: int) -> None:
    """The same photos saved at size x size (JPEG, quality 90): the whole run's reference."""
    from PIL import Image

    for path in source.rglob("*.jpg"):
        (target / path.parent.name).mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:
            image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR).save(
                target / path.parent.name / path.name, quality=90
            )


def cifar_images() -> tuple[object, object]:
    sys.path.insert(0, str(ROOT))
    from cnnsearch.data import load
    from cnnsearch.spec import DataSpec

    s = load(DataSpec(dataset="cifar10", path=str(CIFAR)), seed=0)
    import numpy as np

    x = np.concatenate([s.x_train, s.x_val, s.x_test])
    y = np.concatenate([s.y_train, s.y_val, s.y_test])
    return x, y


def write_photos(folder: Path, count: int, x: object, y: object) -> float:
    """``count`` 4000 x 3000 JPEGs over 6 classes; returns the folder's size in MB."""
    import numpy as np
    from PIL import Image

    x, y = np.asarray(x), np.asarray(y)
    rng = np.random.default_rng(0)
    per_class = {c: list(np.flatnonzero(y == c)) for c in range(6)}
    for i in range(count):
        c = i % 6
        image = Image.fromarray(x[per_class[c][i // 6]]).resize((4000, 3000), Image.Resampling.BICUBIC)
        noise = rng.integers(-6, 7, (375, 500, 3)).repeat(8, 0).repeat(8, 1)
        pixels = (np.asarray(image).astype(np.int16) + noise).clip(0, 255).astype(np.uint8)
        (folder / CLASSES[c]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(folder / CLASSES[c] / f"{i:04d}.jpg", quality=90)
    return sum(p.stat().st_size for p in folder.rglob("*.jpg")) / 1e6


def write_pngs(folder: Path, x: object, y: object) -> int:
    import numpy as np
    from PIL import Image

    x, y = np.asarray(x), np.asarray(y)
    for i, (image, label) in enumerate(zip(x, y)):
        (folder / CLASSES[int(label)]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / CLASSES[int(label)] / f"{i:05d}.png")
    return len(x)


def measure(loader: str, folder: Path, size: int, cwd: Path, pythonpath: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, loader, str(folder), str(size), str(cwd)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1], "rc": out.returncode}
    return json.loads(lines[-1])


def row(name: str, run: str, result: dict) -> str:
    if "error" in result:
        return f"| {name} | {run} | failed (rc {result['rc']}): {result['error'][:60]} | | | |"
    rate = result["images"] / result["seconds"] if result["seconds"] else float("nan")
    hit = {None: "", True: "hit", False: "built"}[result["cache_hit"]]
    return (
        f"| {name} | {run} | {result['peak_mib']:,.0f} | {result['first_batch_s']:.1f} | {rate:,.0f} | "
        f"{result['images']} | {hit} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=240, help="4000x3000 JPEGs to generate (6 classes)")
    parser.add_argument("--size", type=int, default=64, help="target side (data.image_size = [size, size])")
    parser.add_argument("--before", type=Path, default=None, help="another checkout whose loader to run too")
    parser.add_argument("--skip-pngs", action="store_true")
    parser.add_argument("--whole-run", action="store_true", help="also time `cnnsearch run` on photos vs 64x64 copies")
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the streaming comparison (pngs folder)")
    parser.add_argument("--repeats", type=int, default=3, help="seeds of the streaming comparison (one run each side)")
    parser.add_argument("--streaming-only", action="store_true", help="only the pngs folder's streaming comparison")
    args = parser.parse_args()
    x, y = cifar_images()
    with tempfile.TemporaryDirectory(prefix="cnnsearch-loading-") as scratch:
        tmp = Path(scratch)
        if args.streaming_only:
            (tmp / "cwd-pngs").mkdir()
            print(f"pngs: {write_pngs(tmp / 'pngs', x, y)} PNGs at 32x32")
            streaming(tmp / "pngs", tmp / "cwd-pngs", args.epochs, args.repeats)
            return
        started = time.perf_counter()
        mb = write_photos(tmp / "photos", args.photos, x, y)
        print(f"photos: {args.photos} JPEGs at 4000x3000, {mb:.0f} MB ({time.perf_counter() - started:.0f} s to write)")
        folders = [("photos", tmp / "photos")]
        if not args.skip_pngs:
            print(f"pngs: {write_pngs(tmp / 'pngs', x, y)} PNGs at 32x32")
            folders.append(("pngs", tmp / "pngs"))
        print(f"\ndata.image_size = [{args.size}, {args.size}], RGB; {os.cpu_count()} cores\n")
        print("| folder / loader | run | peak MiB | s to first batch | images/s | images | cache |")
        print("|---|---|---:|---:|---:|---:|---|")
        for name, folder in folders:
            cwd = tmp / f"cwd-{name}"
            cwd.mkdir()
            for run in ("first", "rerun"):
                print(row(f"{name} / cnnsearch", run, measure("cnnsearch", folder, args.size, cwd, ROOT)), flush=True)
            for run in ("first", "rerun"):
                print(row(f"{name} / keras", run, measure("keras", folder, args.size, cwd, ROOT)), flush=True)
            if args.before is not None and name == "photos":
                before_cwd = tmp / "cwd-before"
                before_cwd.mkdir()
                result = measure("cnnsearch", folder, args.size, before_cwd, args.before)
                print(row(f"{name} / cnnsearch before ({args.before.name})", "first", result), flush=True)
        if args.whole_run:
            save_small(tmp / "photos", tmp / "small", args.size)
            print(f"\n`cnnsearch run folder.toml`, 1 trial of 1 epoch, data.image_size = [{args.size}, {args.size}]:")
            print("| folder | peak MiB | wall s |\n|---|---:|---:|")
            for name, folder in (
                ("photos at 4000x3000", tmp / "photos"),
                (f"same at {args.size}x{args.size}", tmp / "small"),
            ):
                peak, seconds = whole_run(folder, args.size, tmp / f"run-{name.split()[0]}-{name.split()[-1]}")
                print(f"| {name} | {peak:,.0f} | {seconds:.1f} |", flush=True)
        if args.skip_pngs:
            return
        pngs, cwd = tmp / "pngs", tmp / "cwd-pngs"
        if not args.streaming_only:
            print(f"\nTwo processes holding the pngs folder's data at {args.size}x{args.size} after one epoch of a")
            print("tiny model through cnnsearch's fit (/proc/<pid>/smaps_rollup, both summed):")
            print("| data | PSS MiB, both | RSS MiB, both |\n|---|---:|---:|")
            for limit in ("none", "shared"):
                total_pss, total_rss, how = pss(pngs, args.size, cwd, limit)
                print(f"| {how} | {total_pss:,.0f} | {total_rss:,.0f} |", flush=True)
        streaming(pngs, cwd, args.epochs, args.repeats)


def streaming(pngs: Path, cwd: Path, epochs: int, repeats: int) -> None:
    """The input pipeline's CPU cost alone, then epoch times and accuracy in memory against streamed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pipeline = subprocess.run(
        [sys.executable, "-c", PIPELINE, str(pngs), "32", str(cwd)], capture_output=True, text=True, env=env, check=True
    )
    cpu = json.loads(pipeline.stdout.strip().splitlines()[-1])
    print("\nThe input pipeline alone, pngs folder at 32x32, batches of 64 (CPU s per epoch, median of 5):")
    print(" ".join(f"{name.replace(' ', '_')}_cpu_s={seconds:.3f}" for name, seconds in cpu.items()))
    print(
        f"\nA small CNN on the pngs folder at 32x32, {epochs} epochs; seeds 0..{repeats - 1}, each in memory then streamed:"
    )
    print("| data | seed | epoch s (each) | median of epochs 2+ | val_accuracy (last) |\n|---|---:|---|---:|---:|")
    medians: dict[str, list[float]] = {"none": [], "1KB": []}
    accuracy: dict[str, list[float]] = {"none": [], "1KB": []}
    for seed in range(repeats):
        for limit in ("none", "1KB"):
            r = train(pngs, 32, cwd, limit, epochs, seed)
            if "error" in r:
                print(f"| {limit} | {seed} | failed: {r['error'][:80]} | | |")
                continue
            how = "streamed (memory_limit 1KB)" if r["streamed"] else "in memory"
            times = ", ".join(f"{t:.2f}" for t in r["epoch_s"])
            medians[limit].append(statistics.median(r["epoch_s"][1:]))
            accuracy[limit].append(r["val_accuracy"][-1])
            print(f"| {how} | {seed} | {times} | {medians[limit][-1]:.2f} | {accuracy[limit][-1]:.3f} |", flush=True)
    if medians["none"] and medians["1KB"]:
        ratio = statistics.median(medians["1KB"]) / statistics.median(medians["none"])
        print(f"\nstreaming_epoch_ratio={ratio:.3f} (median of the runs' medians, epochs 2+; target <= 1.1)")
        for limit, name in (("none", "in memory"), ("1KB", "streamed")):
            values = accuracy[limit]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            print(f"val_accuracy {name}: {statistics.mean(values):.3f} +- {spread:.3f} over {len(values)} seeds")


if __name__ == "__main__":
    main()
