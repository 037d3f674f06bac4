"""KerasTuner hypermodels: the user's ``build(hp)``, wrapped to fit cnnsearch's contract.

``[model] hypermodel = "module:build"`` names a function written against KerasTuner's
``HyperParameters`` API. The search layer hands it an ``hp`` whose values come from
the Optuna trial; here the returned network is checked and wrapped: a named input,
the spec's augmentation in front during training, raw uint8 images at export.

Nothing here compiles. A network the user compiled keeps its compile config, which
the training layer applies (so the user's optimizer and metrics are used).
"""

from __future__ import annotations

import inspect
from typing import Any

from cnnsearch.errors import TrialFailed
from cnnsearch.models._plain import build_augmentation
from cnnsearch.models._plain import inference_model as builtin_inference
from cnnsearch.spec import describe_exception, load_build_function

#: The user's network inside the wrapper (export finds it by this name).
INNER = "hypermodel"


def build_hypermodel(
    reference: str,
    hp: Any,
    params: dict[str, Any],
    input_shape: tuple[int, int, int],
    num_classes: int,
) -> tuple[Any, dict[str, Any] | None]:
    """Call the user's build(hp); returns (wrapped model, the user's compile config or None).

    The function may also take ``input_shape`` and ``num_classes`` keyword arguments;
    they are passed when its signature names them. A build that raises or returns
    something other than a ``keras.Model`` fails the trial (TrialFailed) with its reason;
    so does ``SystemExit`` (``hypermodel = "sys:exit"``) or any other BaseException but
    KeyboardInterrupt, which stops the study as Ctrl-C does.
    """
    import keras

    function = load_build_function(reference)
    kwargs: dict[str, Any] = {}
    try:
        accepted = inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin without a signature: pass hp alone
        accepted = {}  # type: ignore[assignment]
    if "input_shape" in accepted:
        kwargs["input_shape"] = input_shape
    if "num_classes" in accepted:
        kwargs["num_classes"] = num_classes
    name = reference.rpartition("/")[2]
    try:
        network = function(hp, **kwargs)
        if not isinstance(network, keras.Model):
            raise TrialFailed(f"hypermodel {name} returned {_kind(network)}, not a keras.Model")
        config = network.get_compile_config() if network.compiled else None
        return wrap(network, params, input_shape), config  # calls the user's layers
    except (TrialFailed, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's code: SystemExit too fails this trial only
        raise TrialFailed(f"hypermodel {name} raised {describe_exception(exc)}"[:500]) from None


def _kind(value: Any) -> str:
    """What came back instead of a model: ``None``, or its type's name."""
    return "None" if value is None else type(value).__name__


def wrap(
    network: Any,
    params: dict[str, Any],
    input_shape: tuple[int, int, int],
    augment: bool = True,
    input_dtype: str = "float32",
) -> Any:
    """Input -> (augmentation) -> the user's network, uncompiled.

    The network receives raw 0-255 pixels as float32, as cnnsearch's data holds them.
    """
    import keras
    from keras import layers

    network.name = INNER  # export finds the user's network by this name
    inputs = keras.Input(shape=input_shape, dtype=input_dtype, name="image")
    x = inputs
    augmentation = build_augmentation(params) if augment else None
    if augmentation is not None:
        x = augmentation(x)
    if input_dtype != "float32":
        x = layers.Rescaling(1.0, name="to_float")(x)  # a cast to float32, as the network was trained
    outputs = network(x)
    return keras.Model(inputs, outputs, name="cnnsearch_hypermodel")


def inference_model(trained: Any, params: dict[str, Any], input_shape: tuple[int, int, int]) -> Any:
    """The trained wrapper's network behind a uint8 input, without augmentation (weights shared)."""
    return wrap(trained.get_layer(INNER), params, input_shape, augment=False, input_dtype="uint8")


def inference_for(
    hypermodel: str | None, trained: Any, params: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int
) -> Any:
    """The export's inference twin (uint8 input, no augmentation) for either kind of network."""
    if hypermodel is not None:
        return inference_model(trained, params, input_shape)
    return builtin_inference(trained, params, input_shape, num_classes)
