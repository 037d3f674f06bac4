"""A KerasTuner hypermodel, as KerasTuner users write them, searched by cnnsearch.

Run it with ``cnnsearch run search_spaces/digits_hypermodel.toml``. Each ``hp.*`` call
becomes an Optuna suggestion; params inside an inactive ``conditional_scope`` are not
suggested at all, so Optuna sees the conditional space as it is.

cnnsearch passes raw 0-255 pixels as float32, adds the spec's augmentation in front,
and compiles the model with the spec's [train] settings unless ``build`` compiles it.
"""

from __future__ import annotations

import keras
from keras import layers


def build(hp, input_shape=(8, 8, 1), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    for i in range(hp.Int("conv_layers", 1, 2)):
        x = layers.Conv2D(hp.Int(f"filters_{i}", 16, 64, step=2, sampling="log"), 3, padding="same", activation="relu")(x)
        if hp.Boolean(f"batch_norm_{i}"):
            x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)
    head = hp.Choice("head", ["flatten", "dense"])
    x = layers.Flatten()(x)
    with hp.conditional_scope("head", ["dense"]):
        if head == "dense":
            x = layers.Dense(hp.Int("dense_units", 32, 128, step=32), activation="relu")(x)
            x = layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-3, 1e-2, sampling="log")),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    hp.Fixed("source", "keras-tuner example")
    return model
