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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT.parent / "shared" / "data" / "cifar10-subset"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

# One measurement, run in a child process: prints a JSON line.
CHILD = r"""
import json, os, resource, sys, time
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
    hit = getattr(splits.source, "cache_hit", None)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first_batch_s": first, "seconds": seconds, "images": count, "peak_mib": peak, "cache_hit": hit}))
"""


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
    args = parser.parse_args()
    x, y = cifar_images()
    with tempfile.TemporaryDirectory(prefix="cnnsearch-loading-") as scratch:
        tmp = Path(scratch)
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


if __name__ == "__main__":
    main()
