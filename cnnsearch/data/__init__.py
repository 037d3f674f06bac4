"""Datasets -> uint8 image arrays with stratified train/validation/test splits.

Pixels stay raw (0-255, NHWC): the model rescales them, so an exported model takes
raw images. The test split is never used by the search. Imports only ``spec``.
"""

from cnnsearch.data._datasets import IMAGE_SUFFIXES, Splits, load, read_image, to_images
from cnnsearch.data._folds import cross_validation_folds

__all__ = ["IMAGE_SUFFIXES", "Splits", "cross_validation_folds", "load", "read_image", "to_images"]
