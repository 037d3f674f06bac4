"""The data a study trained on, as an MLflow dataset input (the runs view's Datasets column).

For an image folder the digest is the decode cache's key (file list, sizes, mtimes, target
size, channels), so two runs show the same digest exactly when they saw the same images.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cnnsearch.data import Splits
from cnnsearch.spec import Spec

#: Where the full list of skipped image files goes in the study's parent run.
BAD_FILES_ARTIFACT = "data"


def dataset_input(spec: Spec, splits: Splits) -> Any:
    """An ``mlflow.entities.DatasetInput``: name, digest, source, split sizes and image shape."""
    import numpy as np
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.types.schema import Schema, TensorSpec

    data, source = spec.data, splits.source
    shape = [-1, *splits.input_shape]
    if source is not None:
        digest, where, kind = source.key, str(source.path.resolve()), "local"
    else:
        described = json.dumps({"data": data.model_dump(mode="json"), "shape": shape, "sizes": _sizes(splits)})
        digest = hashlib.sha256(described.encode()).hexdigest()[:32]
        where, kind = (str(Path(data.path).resolve()), "local") if data.path else (data.dataset, "code")
    features = Schema([TensorSpec(np.dtype(np.uint8), tuple(shape), "images")])
    targets = Schema([TensorSpec(np.dtype(np.int64), (-1,), "labels")])
    schema = {"mlflow_tensorspec": {"features": features.to_json(), "targets": targets.to_json()}}
    profile = {**_sizes(splits), "classes": splits.num_classes}
    if source is not None:
        profile |= {
            "files": source.files,
            "skipped_files": len(source.bad),
            "duplicates_moved": source.duplicates_moved,
        }
    name = Path(data.path).name if data.path else data.dataset
    dataset = Dataset(name, digest, kind, json.dumps({"uri": where}), json.dumps(schema), json.dumps(profile))
    return DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])


def _sizes(splits: Splits) -> dict[str, int]:
    return {"train": len(splits.y_train), "validation": len(splits.y_val), "test": len(splits.y_test)}
