"""Training images/s of one model under each speed setting, per Keras backend.

The model is the fixed CNN of ``_fixed.py`` on the CIFAR-10 subset. The baseline
is Keras as the tutorials write it: float32, ``compile()``'s own ``jit_compile``
("auto": no XLA for TensorFlow on CPU), ``steps_per_execution=1``, batch 32,
NumPy arrays in memory. Each other row changes one thing; the last rows stack
what beat the baseline. Every setting builds a fresh model and trains one
warm-up epoch (tracing, XLA compilation); then rounds of one timed epoch per
setting, in rotated order so that load from other processes hits all settings
alike; the median round counts. Wall images/s and images per CPU-second (the
process's CPU time: steadier on a shared machine) are both printed.
Each backend runs in its own process (``KERAS_BACKEND``); TensorFlow always, JAX
and PyTorch where importable (``--path jax=/tmp/jaxsite`` adds a side install).

    .venv/bin/python benchmarks/throughput.py                       # all backends found
    .venv/bin/python benchmarks/throughput.py --quick               # TensorFlow, fewer rows, < 2 min
    .venv/bin/python benchmarks/throughput.py --path jax=/tmp/jaxsite --path torch=/tmp/torchsite

Ends with ``best_speedup=<best images/s / TensorFlow baseline images/s>`` (without
TensorFlow installed, the first backend's baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _fixed  # noqa: E402

#: compile()'s own jit_compile="auto": XLA off for TensorFlow on CPU and for PyTorch, on for JAX.
BASE = {"precision": "float32", "jit": "auto", "spe": 1, "batch": 32, "data": "memory"}


def settings(quick: bool, backend: str) -> list[dict[str, Any]]:
    """One-factor-at-a-time rows from the baseline (the combined rows come later)."""
    rows = [{}, {"jit": True}, {"spe": 8}, {"precision": "mixed_bfloat16"}, {"batch": 128}, {"data": "tf.data"}]
    if quick:
        rows.remove({"batch": 128})
    if not quick:
        rows += [
            {"spe": 32},
            {"precision": "mixed_float16"},
            {"batch": 64},
            {"batch": 256},
            {"data": "generator"},
        ]
    if backend == "jax":  # JAX always compiles with XLA ("auto"); jit_compile=False runs eagerly, op by op
        rows = [r for r in rows if "jit" not in r]
    if backend == "torch":  # jit_compile=True means torch.compile on this backend
        rows = [r for r in rows if r.get("precision") != "mixed_float16"]
    return [{**BASE, **row} for row in rows]


def label(row: dict[str, Any]) -> str:
    changed = [f"{k}={v}" for k, v in row.items() if BASE[k] != v]
    return ", ".join(changed) or "baseline (tutorial Keras)"


# --- one backend, in its own process ---------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """Run every setting on this process's backend; print one JSON line per setting."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from cnnsearch._runtime import load_keras

    backend = load_keras()
    import keras
    import numpy as np

    from cnnsearch.data import load
    from cnnsearch.models import build
    from cnnsearch.spec import validate_spec

    spec = validate_spec(_fixed.spec_dict("throughput", 1, max_train_samples=args.samples))
    splits = load(spec.data, seed=0)
    params = _fixed.params_of(spec)
    x, y = splits.x_train, splits.y_train
    print("VERSIONS " + _fixed.versions() + f"; {len(x)} training images {x.shape[1:]}", flush=True)

    def feed(row: dict[str, Any]) -> Any:
        if row["data"] == "memory":
            return x, y
        if row["data"] == "tf.data":
            import tensorflow as tf

            ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
            return ds.batch(row["batch"]).prefetch(tf.data.AUTOTUNE), None
        return Batches(x, y, row["batch"]), None

    class Batches(keras.utils.PyDataset):
        """Streamed from Python one batch at a time (a generator-style loader)."""

        def __init__(self, x: Any, y: Any, batch: int) -> None:
            super().__init__()
            self.x, self.y, self.batch = x, y, batch
            self.order = np.random.default_rng(0).permutation(len(x))

        def __len__(self) -> int:
            return -(-len(self.x) // self.batch)

        def __getitem__(self, i: int) -> tuple[Any, Any]:
            index = np.sort(self.order[i * self.batch : (i + 1) * self.batch])
            return self.x[index], self.y[index]

        def on_epoch_end(self) -> None:
            self.order = np.random.default_rng(len(self.order)).permutation(len(self.x))

    def prepare(row: dict[str, Any]) -> dict[str, Any]:
        """Build, compile and warm up one setting's model (tracing, XLA compilation)."""
        result: dict[str, Any] = {"backend": backend, **row}
        try:
            keras.mixed_precision.set_global_policy(row["precision"])
            keras.utils.set_random_seed(0)
            net = build(params, splits.input_shape, splits.num_classes)
            net.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
                jit_compile=row["jit"],
                steps_per_execution=row["spe"],
            )
            inputs, labels = feed(row)
            kwargs = {"batch_size": row["batch"]} if labels is not None else {}
            started = time.perf_counter()
            net.fit(inputs, labels, epochs=1, verbose=0, shuffle=True, **kwargs)
            result.update(warmup_s=time.perf_counter() - started, _run=(net, inputs, labels, kwargs), samples=[])
        except Exception as exc:  # noqa: BLE001 - a setting a backend lacks is a row, not a crash
            result["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:160]
        finally:
            keras.mixed_precision.set_global_policy("float32")
        return result

    def measure(group: list[dict[str, Any]]) -> None:
        """Round-robin: one timed epoch per setting per round, order rotated, so load drift hits all alike."""
        live = [r for r in group if "_run" in r]
        for round_ in range(args.rounds):
            shift = round_ % max(len(live), 1)
            for r in live[shift:] + live[:shift]:
                net, inputs, labels, kwargs = r["_run"]
                timer = EpochTimer()
                net.fit(inputs, labels, epochs=args.epochs, verbose=0, shuffle=True, callbacks=[timer], **kwargs)
                r["samples"].append(len(x) * args.epochs / timer.wall)
                r.setdefault("cpu", []).append(len(x) * args.epochs / timer.cpu)
        base = next((r for r in live if all(r[k] == v for k, v in BASE.items())), None)
        for r in live:
            r["images_per_s"] = float(np.median(r["samples"]))
            r["images_per_cpu_s"] = float(np.median(r.pop("cpu")))
        for r in group:
            r.pop("_run", None)
            if base is not None and "images_per_s" in r:
                r["x_base"] = r["images_per_s"] / base["images_per_s"]
            print("RESULT " + json.dumps(r), flush=True)

    class EpochTimer(keras.callbacks.Callback):
        """Wall and process CPU seconds inside the epochs (fit's set-up excluded: once per trial)."""

        def __init__(self) -> None:
            super().__init__()
            self.wall = self.cpu = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._wall, self._cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.wall += time.perf_counter() - self._wall
            self.cpu += time.process_time() - self._cpu

    singles = [prepare(row) for row in settings(args.quick, backend)]
    measure(singles)
    extra = combined(singles)
    if extra:  # the winners stacked, measured against the baseline again
        measure([prepare(BASE)] + [prepare(row) for row in extra])


# --- the parent: one process per backend, then the table ------------------------------------


def run_backend(backend: str, args: argparse.Namespace, extra_path: str | None) -> list[dict]:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, str(_fixed.ROOT), env.get("PYTHONPATH")) if p)
    else:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_fixed.ROOT), env.get("PYTHONPATH")) if p)
    command = [sys.executable, __file__, "--child", "--epochs", str(args.epochs), "--rounds", str(args.rounds)]
    if args.samples:
        command += ["--samples", str(args.samples)]
    if args.quick:
        command.append("--quick")
    results = []
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("VERSIONS "):
                print(f"[{backend}] {line[9:].strip()}", flush=True)
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
                results.append(result)
                show = f"{result['images_per_s']:8.0f} img/s" if "images_per_s" in result else result["error"]
                print(f"[{backend}] {label({k: result[k] for k in BASE}):<40} {show}", flush=True)
        stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0 and not results:
        print(f"[{backend}] failed: {stderr.strip().splitlines()[-1] if stderr.strip() else proc.returncode}")
    return results


def available(backend: str, extra_path: str | None) -> bool:
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({backend!r}) is None)"
    env = dict(os.environ, PYTHONPATH=extra_path or os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


def combined(results: list[dict]) -> list[dict]:
    """Rows that stack every single change that beat the baseline (batch 32 kept, then the best batch)."""
    ok = [r for r in results if "images_per_s" in r]
    base = next((r for r in ok if all(r[k] == v for k, v in BASE.items())), None)
    if base is None:
        return []
    winners: dict[str, Any] = {}
    for key in ("precision", "jit", "spe", "data"):
        best = max(
            (r for r in ok if r[key] != BASE[key] and all(r[k] == BASE[k] for k in BASE if k != key)),
            key=lambda r: r["images_per_s"],
            default=None,
        )
        if best is not None and best["images_per_s"] > base["images_per_s"] * 1.03:
            winners[key] = best[key]
    batches = [r for r in ok if r["batch"] != 32 and all(r[k] == BASE[k] for k in BASE if k != "batch")]
    best_batch = max(batches, key=lambda r: r["images_per_s"])["batch"] if batches else 32
    rows = []
    if winners:
        rows.append({**BASE, **winners})
    if best_batch != 32:
        rows.append({**BASE, **winners, "batch": best_batch})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="TensorFlow only, 1,024 images, fewer rows")
    parser.add_argument("--backends", default=None, help="comma-separated (default: tensorflow,jax,torch found)")
    parser.add_argument("--path", action="append", default=[], metavar="BACKEND=DIR", help="side install to add")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per timed round (default 1)")
    parser.add_argument("--samples", type=int, default=None, help="training images (default all; quick 1024)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds, median taken (default 3; quick 2)")
    args = parser.parse_args()
    args.epochs = args.epochs or 1
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.samples = args.samples or (640 if args.quick else None)
    if args.child:
        child(args)
        return

    paths = dict(item.split("=", 1) for item in args.path)
    backends = (
        args.backends.split(",")
        if args.backends
        else (["tensorflow"] if args.quick else ["tensorflow", "jax", "torch"])
    )
    print(
        f"throughput: {_fixed.cifar_path() or 'digits (CIFAR-10 subset not found)'}; "
        f"{args.epochs} timed epoch(s) after 1 warm-up epoch per setting"
    )
    results: list[dict] = []
    for backend in backends:
        if not available(backend, paths.get(backend)):
            print(f"[{backend}] not installed: skipped")
            continue
        results += run_backend(backend, args, paths.get(backend))

    ok = [r for r in results if "images_per_s" in r]
    bases = [r for r in ok if all(r[k] == v for k, v in BASE.items())]
    # TensorFlow's naive baseline; on a machine without TensorFlow (the GPU box), the first backend's.
    base = next((r for r in bases if r["backend"] == "tensorflow"), bases[0] if bases else None)
    if base is None:
        print("best_speedup=nan")
        return
    print(
        f"\n{'backend':<11} {'setting':<50} {'img/s':>7} {'x base':>6} {'img/cpu-s':>9} {'x base':>6} {'warm-up s':>9}"
    )
    for r in sorted(ok, key=lambda r: (r["backend"] != "tensorflow", r["backend"], -r["images_per_s"])):
        own = next(b for b in ok if b["backend"] == r["backend"] and all(b[k] == v for k, v in BASE.items()))
        print(
            f"{r['backend']:<11} {label({k: r[k] for k in BASE}):<50} {r['images_per_s']:7.0f} {r['x_base']:6.2f} "
            f"{r['images_per_cpu_s']:9.0f} {r['images_per_cpu_s'] / own['images_per_cpu_s']:6.2f} {r['warmup_s']:9.1f}"
        )
    # Each row's ratio is against the TensorFlow baseline of its own round-robin group;
    # other backends' rows are scaled through their own baseline.
    tf_base = base["images_per_s"]
    for r in ok:
        own = next((b for b in ok if b["backend"] == r["backend"] and all(b[k] == v for k, v in BASE.items())), None)
        r["x_tf"] = r["x_base"] * (own["images_per_s"] / tf_base if own else 1.0)
    same_batch = [r for r in ok if r["batch"] == 32]
    best = max(ok, key=lambda r: r["x_tf"])
    best32 = max(same_batch, key=lambda r: r["x_tf"])
    print(
        f"best at batch 32 (training unchanged): {best32['backend']} {label({k: best32[k] for k in BASE})}: "
        f"{best32['x_tf']:.2f}x"
    )
    print(f"best overall: {best['backend']} {label({k: best[k] for k in BASE})}")
    print(f"best_speedup={best['x_tf']:.2f}")


if __name__ == "__main__":
    main()
