"""The losses PyTorch also exposes as ``torch.<name>``: its ATen forms, whose ``reduction`` is an
int (0 none, 1 mean, 2 sum) that defaults to none, unlike ``nn.functional``'s string."""

from __future__ import annotations

from glassgrad.ops.nn.loss import loss as _loss

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(name, value, position):
    """PyTorch's int ``reduction`` as ``nn.functional``'s string, with its argument error."""
    if isinstance(value, bool) or not isinstance(value, int):
        where = f" (position {position})" if position else ""
        raise TypeError(
            f"{name}(): argument 'reduction'{where} must be int, not {type(value).__name__}"
        )
    return _REDUCTIONS.get(value, "none")


def _positional(args, position):
    """``(value, position)`` of an optional argument given by position, else (0, None)."""
    return (args[0], position) if args else (0, None)


def kl_div(input, target, *args, reduction=None, log_target=False):
    """``torch.kl_div``: ``nn.functional.kl_div`` with an int ``reduction`` (default none)."""
    value, position = _positional(args, 3) if reduction is None else (reduction, None)
    mode = _reduction("kl_div", value, position)
    return _loss.kl_div(input, target, reduction=mode, log_target=log_target)


def binary_cross_entropy_with_logits(
    input, target, weight=None, pos_weight=None, *args, reduction=None
):
    """``torch.binary_cross_entropy_with_logits``: an int ``reduction`` (default none)."""
    value, position = _positional(args, 5) if reduction is None else (reduction, None)
    mode = _reduction("binary_cross_entropy_with_logits", value, position)
    return _loss.binary_cross_entropy_with_logits(
        input, target, weight, reduction=mode, pos_weight=pos_weight
    )


def cosine_embedding_loss(input1, input2, target, margin=0.0, *args, reduction=None):
    """``torch.cosine_embedding_loss``: an int ``reduction`` (default none)."""
    value, position = _positional(args, 5) if reduction is None else (reduction, None)
    mode = _reduction("cosine_embedding_loss", value, position)
    return _loss.cosine_embedding_loss(input1, input2, target, margin, reduction=mode)


def margin_ranking_loss(input1, input2, target, margin=0.0, *args, reduction=None):
    """``torch.margin_ranking_loss``: an int ``reduction`` (default none)."""
    value, position = _positional(args, 5) if reduction is None else (reduction, None)
    mode = _reduction("margin_ranking_loss", value, position)
    return _loss.margin_ranking_loss(input1, input2, target, margin, reduction=mode)
