"""Datasets -> uint8 image arrays with stratified train/validation/test splits.

Pixels stay raw (0-255, NHWC): the model rescales them, so an exported model takes
raw images. The test split is never used by the search. Image folders are decoded once
to their target size into a cache under mlruns/ that every process memory-maps. Imports
only ``spec`` and the leaf modules.
"""

from cnnsearch.data._cache import cache_key
from cnnsearch.data._datasets import Splits, load
from cnnsearch.data._decode import LoadProgress, decode
from cnnsearch.data._folder import FolderSource, scan_folder
from cnnsearch.data._folds import cross_validation_folds
from cnnsearch.data._images import read_image, to_images
from cnnsearch.data._scan import IMAGE_SUFFIXES, BadFile, describe_bad, write_bad_list
from cnnsearch.data._streaming import batches, is_streamed, memory_budget

__all__ = [
    "IMAGE_SUFFIXES",
    "BadFile",
    "FolderSource",
    "LoadProgress",
    "Splits",
    "batches",
    "cache_key",
    "cross_validation_folds",
    "decode",
    "describe_bad",
    "is_streamed",
    "load",
    "memory_budget",
    "read_image",
    "scan_folder",
    "to_images",
    "write_bad_list",
]
