"""KerasTuner hypermodels under the Optuna study.

``[model] hypermodel = "module:build"`` names a function written against KerasTuner's
``HyperParameters`` API. Each trial calls it with ``TrialHyperParameters``, a real
``keras_tuner.HyperParameters`` whose new values come from the Optuna trial (through
``space.suggest_hyperparameter``), so name scopes, ``conditional_scope`` and
``parent_name`` work as in KerasTuner and Optuna sees only the active params.

The returned network is wrapped so that it fits cnnsearch's contract: a named input,
the spec's augmentation in front during training, raw uint8 images at export.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnsearch.errors import SpecError, TrialFailed

#: The user's network inside the wrapper (export finds it by this name).
INNER = "hypermodel"


def load_build_function(reference: str) -> Callable[..., Any]:
    """'pkg.module:build' or '/abs/file.py:build' -> the function; SpecError naming what is wrong."""
    target, _, name = reference.rpartition(":")
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise SpecError(f"no such file '{target}'")
            module_name = f"cnnsearch_hypermodel_{path.stem}"
            module = sys.modules.get(module_name)
            if module is None or getattr(module, "__file__", None) != str(path):
                spec = importlib.util.spec_from_file_location(module_name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
        else:
            if str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))  # `module:build` next to where cnnsearch runs
            module = importlib.import_module(target)
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything on import
        raise SpecError(f"cannot import '{target}' ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    function = getattr(module, name, None)
    if function is None:
        raise SpecError(f"'{target}' has no attribute '{name}'")
    if not callable(function):
        raise SpecError(f"'{target}:{name}' is not callable")
    return function


def _keras_tuner_base() -> type:
    import keras_tuner

    return keras_tuner.HyperParameters


def trial_hyperparameters(trial: Any) -> Any:
    """A ``keras_tuner.HyperParameters`` that asks the Optuna trial for each new active value."""
    from cnnsearch.space import suggest_hyperparameter

    base = _keras_tuner_base()

    class TrialHyperParameters(base):  # type: ignore[misc, valid-type]
        def _register(self, hyperparameter: Any, overwrite: bool = False) -> Any:
            # KerasTuner stores the default for a new active value; store the trial's suggestion first.
            if self.is_active(hyperparameter) and hyperparameter.name not in self.values:
                self.values[hyperparameter.name] = suggest_hyperparameter(trial, hyperparameter)
            return super()._register(hyperparameter, overwrite=False)

    return TrialHyperParameters()


def build(
    spec: Any,
    trial: Any,
    params: dict[str, Any],
    input_shape: tuple[int, int, int],
    num_classes: int,
) -> tuple[Any, dict[str, Any]]:
    """Call the user's build(hp) for this trial; returns (wrapped model, the hp values it used).

    The function may also take ``input_shape`` and ``num_classes`` keyword arguments;
    they are passed when its signature names them.
    """
    import keras

    reference = spec.model.hypermodel
    function = load_build_function(reference)
    hp = trial_hyperparameters(trial)
    kwargs = {}
    accepted = inspect.signature(function).parameters
    if "input_shape" in accepted:
        kwargs["input_shape"] = input_shape
    if "num_classes" in accepted:
        kwargs["num_classes"] = num_classes
    try:
        network = function(hp, **kwargs)
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise TrialFailed(f"hypermodel {reference.rpartition('/')[2]} raised {type(exc).__name__}: {text}"[:500]) from exc
    if not isinstance(network, keras.Model):
        raise TrialFailed(
            f"hypermodel {reference.rpartition('/')[2]} returned {type(network).__name__}, not a keras.Model"
        )
    model = wrap(network, params, input_shape)
    values = dict(hp.values)
    if not model.compiled:
        # build(hp) left compiling to cnnsearch: the spec's [train] optimizer and learning rate apply.
        from cnnsearch.space import suggest_compile
        from cnnsearch.train import compile_model

        values.update(suggest_compile(trial, spec))
        compile_model(model, {**params, **values})
    return model, values


def wrap(
    network: Any,
    params: dict[str, Any],
    input_shape: tuple[int, int, int],
    augment: bool = True,
    input_dtype: str = "float32",
    keep_compile: bool = True,
) -> Any:
    """Input -> (augmentation) -> the user's network; compiled as the user compiled it, if they did.

    The network receives raw 0-255 pixels as float32, as cnnsearch's data holds them.
    """
    import keras
    from keras import layers

    from cnnsearch.model import build_augmentation

    config = network.get_compile_config() if keep_compile and network.compiled else None
    network.name = INNER  # export finds the user's network by this name
    inputs = keras.Input(shape=input_shape, dtype=input_dtype, name="image")
    x = inputs
    augmentation = build_augmentation(params) if augment else None
    if augmentation is not None:
        x = augmentation(x)
    if input_dtype != "float32":
        x = layers.Rescaling(1.0, name="to_float")(x)  # a cast to float32, as the network was trained
    outputs = network(x)
    model = keras.Model(inputs, outputs, name="cnnsearch_hypermodel")
    if config is not None:
        model.compile_from_config(config)
    return model


def inference_model(trained: Any, params: dict[str, Any], input_shape: tuple[int, int, int]) -> Any:
    """The trained wrapper's network behind a uint8 input, without augmentation (weights shared)."""
    return wrap(trained.get_layer(INNER), params, input_shape, augment=False, input_dtype="uint8", keep_compile=False)


def build_for_trial(
    spec: Any, trial: Any, params: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int
) -> tuple[Any, dict[str, Any]]:
    """The trial's network: the spec's hypermodel when it names one, else cnnsearch's own builder."""
    from cnnsearch.model import build as build_builtin

    if spec.model.hypermodel is not None:
        return build(spec, trial, params, input_shape, num_classes)
    return build_builtin(params, input_shape, num_classes), {}


def inference_for(
    spec: Any, trained: Any, params: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int
) -> Any:
    """The export's inference twin (uint8 input, no augmentation) for either kind of network."""
    from cnnsearch.model import inference_model as builtin_inference

    if spec.model.hypermodel is not None:
        return inference_model(trained, params, input_shape)
    return builtin_inference(trained, params, input_shape, num_classes)
