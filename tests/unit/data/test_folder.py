"""Image folders: reduced decoding, the decode cache, every kind of broken file, duplicates, sizes.

Each test writes a tiny folder; the decode cache lands in the test's own working directory.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnsearch.data import BadFile, decode, load, read_image, to_images
from cnnsearch.data._decode import Decoded, decode_into
from cnnsearch.data._scan import Header, auto_size, read_header, scan_headers
from cnnsearch.errors import DataError
from cnnsearch.spec import DataSpec


def _photo(path: Path, size: tuple[int, int], colour: int, orientation: int | None = None) -> None:
    """A smooth JPEG of PIL size (width, height): a gradient plus the class's colour in one channel."""
    width, height = size
    ramp = np.linspace(0, 120, width, dtype=np.float32)[None, :].repeat(height, 0)
    down = np.linspace(0, 120, height, dtype=np.float32)[:, None].repeat(width, 1)
    pixels = np.stack([ramp, ramp[::-1, ::-1], down], -1)
    pixels[..., colour % 3] += 100
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=92, exif=exif)


def _folder(root: Path, per_class: int = 6, size: tuple[int, int] = (64, 48)) -> Path:
    for c, name in enumerate(("red", "green", "blue")):
        for i in range(per_class):
            _photo(root / name / f"{i}.jpg", (size[0] + i, size[1] + i), c)
    return root


def _spec(root: Path, **fields: object) -> DataSpec:
    return DataSpec(dataset="directory", path=str(root), **fields)  # type: ignore[arg-type]


def test_jpeg_is_decoded_reduced_and_resized_close_to_a_full_decode(tmp_path: Path) -> None:
    _photo(tmp_path / "big.jpg", (800, 600), 0)
    decoded = decode(tmp_path / "big.jpg", (24, 32), 3)
    assert isinstance(decoded, Decoded) and decoded.image.shape == (24, 32, 3) and decoded.image.dtype == np.uint8
    full = to_images(read_image(tmp_path / "big.jpg")[None], (24, 32), 3)[0]
    assert np.abs(decoded.image.astype(int) - full.astype(int)).mean() < 3  # 1/8-scale DCT, then resized
    gray = decode(tmp_path / "big.jpg", (12, 16), 1)
    assert isinstance(gray, Decoded) and gray.image.shape == (12, 16, 1)
    # A portrait photo stored landscape with an EXIF rotation is turned upright before resizing.
    _photo(tmp_path / "turned.jpg", (80, 40), 0, orientation=6)
    turned = decode(tmp_path / "turned.jpg", (8, 4), 3)
    assert isinstance(turned, Decoded) and turned.image.shape == (8, 4, 3)
    upright = to_images(read_image(tmp_path / "turned.jpg")[None], (8, 4), 3)[0]
    assert np.abs(turned.image.astype(int) - upright.astype(int)).max() <= 2


def test_png_decodes_exactly_as_the_whole_file_resized(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (30, 40, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    decoded = decode(tmp_path / "x.png", (15, 20), 3)
    assert isinstance(decoded, Decoded)
    np.testing.assert_array_equal(decoded.image, to_images(pixels[None], (15, 20), 3)[0])


def test_decode_into_keeps_order_and_reports_progress(tmp_path: Path) -> None:
    paths = []
    for i in range(7):
        Image.new("L", (6, 5), i * 30).save(tmp_path / f"{i}.png")
        paths.append(tmp_path / f"{i}.png")
    (tmp_path / "empty.png").write_bytes(b"")
    paths.insert(3, tmp_path / "empty.png")
    seen: list[int] = []

    class Progress:
        def start(self, total: int) -> None:
            seen.append(-total)

        def advance(self, done: int) -> None:
            seen.append(done)

        def finish(self) -> None:
            seen.append(0)

    out = np.zeros((8, 5, 6, 1), np.uint8)
    bad, digests = decode_into(paths, (5, 6), 1, out, Progress())
    assert bad == [BadFile(tmp_path / "empty.png", "empty file")]
    assert [int(out[i, 0, 0, 0]) for i in range(8)] == [0, 30, 60, 0, 90, 120, 150, 180]
    assert digests[3] == "" and len(set(digests) - {""}) == 7
    assert seen[0] == -8 and seen[-2] == 8 and seen[-1] == 0 and seen[1:-1] == sorted(seen[1:-1])


def test_every_kind_of_broken_file_is_named_in_one_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _folder(tmp_path / "images", per_class=4, size=(40, 30))
    broken = root / "red"
    (broken / "empty.jpg").write_bytes(b"")
    (broken / "text.png").write_text("not an image at all")
    _photo(tmp_path / "whole.jpg", (400, 300), 1)
    whole = (tmp_path / "whole.jpg").read_bytes()
    (broken / "cut.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    Image.new("LAB", (8, 8)).save(broken / "lab.png", "TIFF")  # a TIFF in LAB mode, named .png
    Image.new("L", (600, 600)).save(root / "blue" / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 150_000)  # PIL's own bound, lowered for a small "bomb"
    splits = load(_spec(root, image_size=[16, 16], max_bad_fraction=0.5), seed=0)
    assert splits.source is not None
    reasons = {b.path.name: b.reason for b in splits.source.bad}
    assert set(reasons) == {"empty.jpg", "text.png", "cut.jpg", "lab.png", "bomb.png"}
    assert reasons["empty.jpg"] == "empty file" and reasons["text.png"] == "not an image"
    assert reasons["cut.jpg"].startswith("truncated or corrupt") and reasons["lab.png"] == "unsupported mode LAB"
    assert reasons["bomb.png"].startswith("decompression bomb")
    assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 12  # nothing readable lost
    # The header scan (what validate runs) finds all but the truncated file, without decoding.
    headers, bad = scan_headers(sorted(broken.iterdir()))
    assert {b.path.name for b in bad} == {"empty.jpg", "text.png", "lab.png"}
    assert read_header(broken / "cut.jpg") == Header(300, 400, "RGB")  # its header is whole


def test_too_many_bad_files_or_a_class_left_too_small_is_one_error(tmp_path: Path) -> None:
    root = _folder(tmp_path / "images", per_class=3, size=(20, 20))
    for i in range(2):
        (root / "blue" / f"{i}.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"classes with fewer than 2 readable images: blue \(1\).*blue/0.jpg"):
        load(_spec(root, image_size=[8, 8], max_bad_fraction=0.5), seed=0)
    with pytest.raises(DataError, match=r"2 of 9 image files \(22%\) cannot be read.*blue/0.jpg \(empty file\)"):
        load(_spec(root, image_size=[8, 8]), seed=0)


def test_the_cache_is_hit_and_a_changed_file_invalidates_it(tmp_path: Path) -> None:
    root = _folder(tmp_path / "images", per_class=5)
    spec = _spec(root, image_size=[12, 16])
    first = load(spec, seed=0)
    assert first.source is not None and not first.source.cache_hit
    entries = [e for e in Path("mlruns/cache/images").iterdir() if e.is_dir()]
    assert [e.name for e in entries] == [first.source.key] and (entries[0] / "images.npy").is_file()
    assert len(list(Path("mlruns/cache/images").glob("headers-*.json"))) == 1  # channels unset: from the headers
    again = load(spec, seed=0)
    assert again.source is not None and again.source.cache_hit and again.source.key == first.source.key
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    # Another size is another entry; a rewritten file (new mtime and size) is another key.
    assert load(_spec(root, image_size=[8, 8]), seed=0).source.key != first.source.key  # type: ignore[union-attr]
    _photo(root / "red" / "0.jpg", (70, 50), 1)
    os.utime(root / "red" / "0.jpg", ns=(1, 1))
    changed = load(spec, seed=0)
    assert changed.source is not None and not changed.source.cache_hit and changed.source.key != first.source.key


def test_unset_image_size_comes_from_headers_capped(tmp_path: Path) -> None:
    headers = [Header(3000, 4000, "RGB")] * 3 + [Header(100, 100, "RGB")]
    assert auto_size(headers) == (192, 256)  # the common size, longest side capped at 256
    assert auto_size([Header(12, 10, "L")]) == (12, 10)  # small images keep their size
    root = _folder(tmp_path / "images", per_class=3, size=(400, 300))
    for c in ("red", "green", "blue"):  # make one size the most common
        for i in range(3):
            _photo(root / c / f"{i}.jpg", (400, 300), 0)
    assert load(_spec(root), seed=0).input_shape == (192, 256, 3)


def test_exact_duplicates_never_straddle_the_test_split(tmp_path: Path) -> None:
    root = _folder(tmp_path / "images", per_class=8, size=(20, 20))
    for c in ("red", "green", "blue"):  # each class: 4 files copied twice more
        for i in range(4):
            for k in (1, 2):
                shutil.copy(root / c / f"{i}.jpg", root / c / f"{i}-copy{k}.jpg")
    splits = load(_spec(root, image_size=[10, 10], test_split=0.3), seed=1)
    assert splits.source is not None and splits.source.duplicates_moved > 0
    pool = {x.tobytes() for x in np.concatenate([splits.x_train, splits.x_val])}
    assert not any(x.tobytes() in pool for x in splits.x_test)
    assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 3 * 16  # none lost
