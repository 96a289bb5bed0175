"""``nn.SyncBatchNorm``: batch normalisation whose statistics are those of the whole batch
across the process group. PyTorch's CPU build refuses it in a process group (GPU only); here it
runs on MPI, and equals ``BatchNorm`` on the concatenated batch."""

from __future__ import annotations

from glassgrad.autograd.function import Function
from glassgrad.autograd.grad_mode import no_grad
from glassgrad.nn.modules.batchnorm import _BatchNorm
from glassgrad.nn.modules.instancenorm import _InstanceNorm

__all__ = ["SyncBatchNorm"]


class _AllReduceSum(Function):
    """Sum across the group; the gradient of a sum every rank uses is the sum of their gradients."""

    @staticmethod
    def forward(ctx, tensor, group):
        from glassgrad import distributed as dist

        ctx.group = group
        total = tensor.clone()
        dist.all_reduce(total, group=group)
        return total

    @staticmethod
    def backward(ctx, grad):
        from glassgrad import distributed as dist

        total = grad.clone()
        dist.all_reduce(total, group=ctx.group)
        return total, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the batch of every process in ``process_group``."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group=None,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, dtype=dtype, bias=bias
        )
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        from glassgrad import distributed as dist

        self._check_input_dim(input)
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")
        group = None
        if self.training and dist.is_available() and dist.is_initialized():
            group = self.process_group or dist.group.WORLD
            if dist.get_world_size(group) <= 1:
                group = None
        if group is None:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        keep = self.track_running_stats
        return _sync_batch_norm(
            input,
            self,
            self.running_mean if keep else None,
            self.running_var if keep else None,
            factor,
            group,
        )

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm sharing its state."""
        output = module
        if isinstance(module, _BatchNorm) and not isinstance(module, _InstanceNorm):
            output = SyncBatchNorm(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
                bias=module.bias is not None,
            )
            if module.affine:
                with no_grad():
                    output.weight = module.weight
                    output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return output


def _sync_batch_norm(input, module, running_mean, running_var, factor, group):
    """Normalise with the mean and (biased) variance of every rank's batch together."""
    from glassgrad import distributed as dist
    from glassgrad.creation import tensor as make_tensor

    dims = [0, *range(2, input.dim())]
    shape = [1, input.size(1)] + [1] * (input.dim() - 2)
    count = make_tensor(float(input.numel() // input.size(1)), dtype=input.dtype)
    dist.all_reduce(count, group=group)
    total = float(count)
    mean = _AllReduceSum.apply(input.sum(dim=dims), group) / total
    centered = input - mean.reshape(shape)
    var = _AllReduceSum.apply((centered * centered).sum(dim=dims), group) / total
    out = centered * (var + module.eps).rsqrt().reshape(shape)
    if module.weight is not None:
        out = out * module.weight.reshape(shape)
    if module.bias is not None:
        out = out + module.bias.reshape(shape)
    if running_mean is not None:
        with no_grad():
            running_mean.mul_(1 - factor).add_(mean.detach() * factor)
            unbiased = var.detach() * (total / max(total - 1.0, 1.0))
            running_var.mul_(1 - factor).add_(unbiased * factor)
    return out
