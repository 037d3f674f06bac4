"""The objective's failure reasons: out-of-memory errors are named as such."""

from __future__ import annotations

from cnnsearch.search import describe


def test_out_of_memory_is_named_in_the_reason() -> None:
    import tensorflow as tf

    oom = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[4096,4096]")
    assert describe(oom) == "out of memory (ResourceExhaustedError): OOM when allocating tensor with shape[4096,4096]"
    assert describe(MemoryError("Unable to allocate 8.0 GiB")).startswith("out of memory (MemoryError)")
