"""PyTorch's refusals of in-place writes that would rebase a view's history.

A view remembers how it was made (``_Extra.view_meta``, PyTorch's CreationMeta): under
``no_grad``, under ``inference_mode``, or as one output of an op returning several views
(``split``, ``chunk``, ``unbind``). PyTorch refuses to modify such a view in place with
autograd on (directly), and to use it after its base or another view of the base was modified
in place (indirectly, when its ``grad_fn`` is next read). The messages are PyTorch's.
"""

from __future__ import annotations

import re

_SUFFIX = {
    "multi": (
        " This view is the output of a function that returns multiple views. Such functions do "
        "not allow the output views to be modified inplace. You should replace the inplace "
        "operation by an out-of-place one."
    ),
    "no_grad": (
        " Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
        "your code by moving both the view and the inplace either both inside the no_grad block "
        "(if you don't want the inplace to be tracked) or both outside (if you want the inplace "
        "to be tracked)."
    ),
    "inference": (
        " Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
        "your code by moving both the view and the inplace either both inside the inference_mode "
        "block (if you don't want the inplace to be tracked) or both outside (if you want the "
        "inplace to be tracked)."
    ),
}


def _op_name(node) -> str:
    """The name PyTorch's view messages give a view's node: ``SplitBackward0`` is ``Split``,
    ``SqueezeBackward1`` is ``Squeeze1``."""
    return re.sub(r"Backward0$", "", type(node).__name__).replace("Backward", "")


def handle_view_on_rebase(view, indirect: bool = False) -> None:
    """Raise PyTorch's RuntimeError if ``view`` may not have its history rebased."""
    meta = view._extra.view_meta
    if meta is None:
        return
    node = view._grad_fn
    modified = "its base or another view of its base has been" if indirect else "is being"
    if meta != "multi" or node is None:
        if node is not None:
            prefix = (
                f"Output {view._output_nr} of {_op_name(node)} is a view of a view which was "
                "created in"
            )
        else:
            prefix = "A view was created in"
        if meta == "inference":
            message = f"{prefix} inference mode and {modified} modified inplace in normal mode."
        else:
            message = (
                f"{prefix} no_grad mode and {modified} modified inplace with grad mode enabled."
            )
    else:
        message = (
            f"Output {view._output_nr} of {_op_name(node)} is a view and {modified} modified "
            "inplace."
        )
    raise RuntimeError(message + _SUFFIX[meta])
