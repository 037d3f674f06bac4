"""Image arrays: uint8 NHWC, resized and converted to the channels asked for; one file read whole.

The decode pass (``_decode``) and ``cnnsearch predict`` share these, so an exported model
sees images prepared the way its training images were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnsearch.errors import DataError


def to_images(x: np.ndarray, image_size: tuple[int, int] | None, channels: int | None) -> np.ndarray:
    """uint8 NHWC images, resized (PIL bilinear) to image_size=(H, W) and converted to 1 or 3 channels.

    (N, H, W) gains a channel axis; an alpha channel (2 or 4 channels) is dropped when converting.
    """
    x = as_uint8(np.asarray(x), "images")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise DataError(f"images: expected (N, H, W) or (N, H, W, C) arrays, got shape {x.shape}")
    if channels is not None and x.shape[-1] != channels:
        if x.shape[-1] in (2, 4):
            x = x[..., :-1]  # drop alpha
        if channels == 3 and x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        elif channels == 1 and x.shape[-1] == 3:
            luma = x.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as PIL "L"
            x = np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]
        elif x.shape[-1] != channels:
            raise DataError(f"data.channels: cannot convert {x.shape[-1]}-channel images to {channels}")
    if image_size is not None and tuple(x.shape[1:3]) != tuple(image_size):
        size = (int(image_size[0]), int(image_size[1]))
        x = np.stack([_resize(i, size) for i in x]) if len(x) else np.zeros((0, *size, x.shape[-1]), np.uint8)
    return np.ascontiguousarray(x, dtype=np.uint8)


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """One HxWxC uint8 image resized; band by band unless RGB (PIL has no mode for every channel count)."""
    from PIL import Image

    rgb = image.shape[-1] == 3  # one "RGB" call is faster than three bands
    bands = [image] if rgb else [image[..., c] for c in range(image.shape[-1])]
    out = [np.asarray(Image.fromarray(b).resize((size[1], size[0]), Image.Resampling.BILINEAR)) for b in bands]
    return out[0] if rgb else np.stack(out, axis=-1)


def as_uint8(x: np.ndarray, what: str) -> np.ndarray:
    """uint8 as is, whole numbers in 0..255 cast, floats in [0, 1] scaled; anything else is an error."""
    if x.dtype == np.uint8 or (x.size == 0 and x.dtype.kind in "iuf"):
        return x.astype(np.uint8, copy=False)
    if x.dtype.kind in "iu" and x.min() >= 0 and x.max() <= 255:
        return x.astype(np.uint8)
    if x.dtype.kind == "f" and np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1:
        return np.round(x * 255.0).astype(np.uint8)
    values = f" with values {x.min()}..{x.max()}" if x.dtype.kind in "iuf" else ""
    raise DataError(f"{what} must be uint8 (0-255) or float in [0, 1], got {x.dtype}{values}")


def read_image(path: str | Path) -> np.ndarray:
    """One image file as uint8 HxWxC (C = 1 for grayscale, else 3); DataError naming the file if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as opened:
            return pixels(opened)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise DataError(f"{path}: not a readable image ({type(exc).__name__})") from None


def pixels(opened: Any) -> np.ndarray:
    """An opened PIL image as uint8 HxWxC, turned upright (EXIF), 16-bit and float grayscale scaled."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(opened)  # phone photos store their rotation in EXIF
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float grayscale
        array = np.asarray(image, dtype=np.float64)
        array = np.clip(np.round(array / 257.0 if array.max() > 255 else array), 0, 255).astype(np.uint8)
    else:
        array = np.asarray(image.convert("L" if image.mode in ("1", "L", "LA") else "RGB"))
    return array[..., None] if array.ndim == 2 else array
