"""PyTorch's default communication hooks: average a bucket by allreduce, in full precision or
compressed to float16/bfloat16 on the way (half the bytes, a rounding on the way)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "allreduce_hook",
    "bf16_compress_hook",
    "bf16_compress_wrapper",
    "fp16_compress_hook",
    "fp16_compress_wrapper",
]


def _group(process_group):
    from glassgrad import distributed as dist

    return process_group if process_group is not None else dist.group.WORLD


def _allreduce_average(process_group, tensor):
    """A future of ``tensor`` averaged across the group (in place)."""
    from glassgrad import distributed as dist

    group = _group(process_group)
    tensor.div_(group.size())
    work = dist.all_reduce(tensor, group=group, async_op=True)
    return work.get_future().then(lambda done: done.value()[0])


def allreduce_hook(process_group, bucket):
    """Average the bucket's gradients by allreduce (what DDP does without a hook)."""
    return _allreduce_average(process_group, bucket.buffer())


def _compress_hook(dtype, process_group, bucket):
    buffer = bucket.buffer()
    compressed = buffer.to(dtype)

    def decompress(done):
        buffer.copy_(done.value())
        return buffer

    return _allreduce_average(process_group, compressed).then(decompress)


def fp16_compress_hook(process_group, bucket):
    """Average in float16: the bucket cast down, averaged by allreduce, cast back."""
    import glassgrad

    return _compress_hook(glassgrad.float16, process_group, bucket)


def bf16_compress_hook(process_group, bucket):
    """Average in bfloat16: the bucket cast down, averaged by allreduce, cast back."""
    import glassgrad

    return _compress_hook(glassgrad.bfloat16, process_group, bucket)


def _compress_wrapper(dtype, hook: Callable, name: str) -> Callable:
    def wrapped(state, bucket):
        bucket.set_buffer(bucket.buffer().to(dtype))

        def decompress(done):
            buffer = bucket.buffer()
            buffer.copy_(done.value())
            return buffer

        return hook(state, bucket).then(decompress)

    wrapped.__name__ = wrapped.__qualname__ = name  # PyTorch's inner function's name
    return wrapped


def fp16_compress_wrapper(hook: Callable) -> Callable:
    """``hook`` run on the bucket rounded to float16, its result cast back."""
    import glassgrad

    return _compress_wrapper(glassgrad.float16, hook, "fp16_compress_wrapper_hook")


def bf16_compress_wrapper(hook: Callable) -> Callable:
    """``hook`` run on the bucket rounded to bfloat16, its result cast back."""
    import glassgrad

    return _compress_wrapper(glassgrad.bfloat16, hook, "bf16_compress_wrapper_hook")
