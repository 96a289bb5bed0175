"""The Tensor: an ndarray, its dtype, and its place in the autograd graph.

Only the autograd surface lives here (``grad``, ``requires_grad``, ``backward``, ``detach``, hooks,
``.data``, version counters); shape, dtype, conversions and printing are in ``_tensor_info``.
Arithmetic and every other op are defined once in ``glassgrad.ops`` and installed as methods
from the op table.
"""

from __future__ import annotations

import sys
import warnings
import weakref

import numpy as np

from glassgrad._batched import BatchedArray as _Batched
from glassgrad._sparse_data import SparseArray as _SparseArray
from glassgrad._tensor_hooks import TensorHooks, _Extra
from glassgrad._tensor_info import (  # noqa: F401 - re-exported for the ops
    _C_NAMES,
    _C_TYPES,
    Size,
    TensorInfo,
    _c_name,
    _c_type,
    _type_name,
    _wrap_dim,
)
from glassgrad.autograd import bound as _bound
from glassgrad.autograd import grad_mode as _gm
from glassgrad.autograd.accumulate import GRAD_LOCK, _threads
from glassgrad.autograd.node import DATA_ASSIGNED as _DATA_ASSIGNED
from glassgrad.autograd.node import AccumulateGrad
from glassgrad.autograd.node import detached_now as _detached_now

__all__ = ["Tensor", "Size", "tensor_method"]

_state = _gm.state
_ndarray = np.ndarray

_NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
    "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
    "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead. See "
    "github.com/pytorch/pytorch/pull/30531 for more information."
)
_LEAF_ONLY = (
    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
    "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
)
_INFERENCE_VERSION = "Inference tensors do not track version counter."


def _make(data, grad_fn=None, output_nr=0):
    """Wrap an ndarray as a Tensor (the one constructor the ops use). It writes ``init_slots``
    out, on the ops' hot path, and gives an op's result its node's edge."""
    t = _new(Tensor)
    t._data = data
    t._grad = None
    t._grad_fn = grad_fn
    t._output_nr = output_nr
    t._requires_grad = grad_fn is not None
    t._accum = None
    t._extra = None
    t._vc = [0] if grad_fn is not None or not _state.inference else None
    return t


def init_slots(t, data, requires_grad=False, inference=False):
    """Set every slot of ``t``, a new tensor of any Tensor class, as a leaf around ``data``,
    and return it: no grad, no node, a fresh version counter (none for an ``inference``
    tensor). The one place a new tensor's slots are written, but for an op's result on the hot
    path (``_make``, and the recorder's ``record2``, which write the same out)."""
    t._data = data
    t._grad = t._grad_fn = t._accum = t._extra = None
    t._output_nr = 0
    t._requires_grad = requires_grad
    t._vc = None if inference else [0]
    return t


_new = object.__new__
_refcount = sys.getrefcount
# References to a version counter only its tensor holds, inside the ``.data`` setter: the slot,
# the local name, getrefcount's argument. (Interpreters that stop counting references to locals,
# 3.14's stack references, cannot tell: there every ``.data =`` counts as shared.)
_VC_UNSHARED = 3 if sys.version_info < (3, 14) else 0


def set_data(t, array) -> None:
    """Give ``t`` another array (``.data =``, ``Module.to``): the dtype may change with it."""
    t._data = array
    edge = t._accum
    if edge is not None:
        edge[0]._type = array.dtype.type


def grad_tensor(t):
    """``t._grad`` as a tensor (or None).

    A plain ``backward()`` leaves a 0-d leaf gradient in ``_grad`` as a NumPy scalar; the tensor
    around it is made here, when it is first read, and kept (PyTorch likewise makes the Python
    object of a gradient only when ``.grad`` is read). Code that reads ``_grad`` goes through this.
    """
    held = t._grad
    if held is None or isinstance(held, Tensor):
        return held
    # (a sparse gradient is kept as its sparse array: there is no scalar to unwrap; stored
    # pending only outside inference mode, see engine_plain, so not an inference tensor)
    grad = init_slots(_new(Tensor), held if held.__class__ is _SparseArray else held.__array__())
    if _threads():  # a backward in another thread may be adding to the scalar right now
        with GRAD_LOCK:
            if t._grad is not held:
                return grad_tensor(t)
            t._grad = grad
        return grad
    t._grad = grad
    return grad


class Tensor(TensorHooks, TensorInfo):
    """A multi-dimensional array that can record the operations applied to it."""

    __slots__ = (
        "_data",
        "_grad",
        "_grad_fn",
        "_output_nr",
        "_requires_grad",
        "_accum",
        "_extra",
        "_vc",
        "__dict__",  # a user's own attributes (t.note = 1), as PyTorch's tensors take them
        "__weakref__",
    )
    __array_priority__ = 1000  # make ``ndarray * tensor`` defer to Tensor.__rmul__

    def __new__(cls, *args, **kwargs):
        return _new(cls)

    # __init__ (the legacy constructor, ``Tensor([1., 2.])``) and __reduce_ex__ (pickling) are
    # the factories' (glassgrad.creation installs them)

    @classmethod
    def _from_array(cls, data):
        if data.__class__ is _ndarray or data.__class__ is _Batched:  # (vmap's batch: kept)
            return _make(data)
        return _make(np.asarray(data))

    # -- autograd surface ----------------------------------------------------------------------
    @property
    def grad_fn(self):
        """The node that created this tensor, or None for leaves."""
        if self._extra is not None:
            self._refresh_view()
        return self._grad_fn

    def _refresh_view(self) -> None:
        """A view whose base was changed in place since: point it at the base's new graph.

        Views share their base's version counter; PyTorch regenerates a stale view's
        ``grad_fn`` the same way, so gradients through the view see the in-place change.
        """
        extra = self._extra
        base = extra.base
        if base is None or self._vc is None or extra.view_version == self._vc[0]:
            return
        _regenerate_view(self, base)

    @property
    def is_leaf(self) -> bool:
        """True for tensors not created by a recorded operation."""
        if self._extra is not None:
            self._refresh_view()
        return self._grad_fn is None

    @property
    def requires_grad(self) -> bool:
        """Whether gradients are computed for this tensor."""
        if self._requires_grad:
            return True
        extra = self._extra
        # PyTorch quirk kept: a view without grad_fn reports its base's flag.
        return extra is not None and extra.base is not None and extra.base.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag) -> None:
        if flag.__class__ is not bool:
            raise RuntimeError("requires_grad must be a bool")
        if self._grad_fn is not None:
            raise RuntimeError(
                _LEAF_ONLY
                if not flag
                else "you can only change requires_grad flags of leaf variables."
            )
        if flag and self._extra is not None and self._extra.view_no_grad:
            self._own_flag()
        self._set_requires_grad(
            bool(flag), "only Tensors of floating point and complex dtype can require gradients"
        )

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf and return ``self``."""
        if requires_grad.__class__ is not bool:
            raise TypeError(
                "requires_grad_(): argument 'requires_grad' (position 1) must be bool, not "
                f"{type(requires_grad).__name__}"
            )
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(_LEAF_ONLY)
            return self
        if self._extra is not None and self._extra.view_no_grad:
            if not requires_grad:
                return self  # PyTorch's flag still reports the base's
            self._own_flag()
        self._set_requires_grad(
            bool(requires_grad), "only Tensors of floating point dtype can require gradients"
        )
        return self

    def _own_flag(self) -> None:
        """A view taken under no_grad given requires_grad=True: PyTorch sets the view's own
        flag, so it stops following its base and becomes a leaf with its own ``.grad``."""
        extra = self._extra
        extra.view_no_grad = False
        held = extra.base._extra if extra.base is not None else None
        if held is not None and held.no_grad_views is not None:
            # (not WeakSet.discard: it compares with the tensors' elementwise ==)
            kept = [view for view in held.no_grad_views if view is not self]
            held.no_grad_views = weakref.WeakSet(kept)

    def _set_requires_grad(self, flag: bool, message: str) -> None:
        if flag and not (self.dtype.is_floating_point or self._data.dtype.kind == "c"):
            raise RuntimeError(message)
        if flag and not _state.inference and self.is_inference():
            raise RuntimeError(
                "Setting requires_grad=True on inference tensor outside InferenceMode is not "
                "allowed."
            )
        self._requires_grad = flag
        self._views_follow(flag)
        from glassgrad.autograd import provenance

        provenance.on_requires_grad(self, flag)

    @property
    def grad(self):
        """The accumulated gradient (leaves, and non-leaves that called ``retain_grad()``)."""
        if self._grad_fn is not None and not self.retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        held = self._grad
        if held is None or held.__class__ is Tensor:
            return held
        return grad_tensor(self)

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    "assigned grad expected to be a Tensor or None but got grad of "
                    f"type {type(value).__name__}"
                )
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size"
                )
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_c_name(value.dtype)}' to a "
                    f"tensor with grad_dtype '{_c_type(self.dtype)}'. The gradient must match the "
                    "tensor's grad_dtype (defaults to the tensor's dtype). You can set the "
                    "tensor's grad_dtype attribute with a specific dtype, or None to allow any "
                    "dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its "
                    "gradient may break downstream systems that assume they match."
                )
        self._grad = value

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. graph leaves; accumulate it in ``.grad``."""
        if _provenance.enabled:  # (glass: a value of the loss read before was a log)
            _escapes.on_backward(self)
        node = self._grad_fn
        if (
            gradient is None
            and inputs is None
            and not create_graph
            and node is not None
            and not self._data.ndim
            and self._extra is None  # (a view's grad_fn may need regenerating first)
        ):
            # the common loss.backward(): checks that cannot fail here are skipped
            dtype = self._data.dtype
            one = _ONES.get(dtype)
            if one is None:
                one = _autograd.one(dtype)
            _engine.backward_one(node, self._output_nr, one, bool(retain_graph))
            return
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> Tensor:
        """A new leaf sharing storage and version counter with this tensor, outside the graph."""
        out = _make(self._data)
        out._vc = self._vc
        if self._vc is None and not _state.inference:
            _inference_alias(out)
        from glassgrad.autograd import provenance

        if provenance.enabled and self.requires_grad:
            provenance.on_detach(self, out)
        return out

    def detach_(self) -> Tensor:
        """Detach this tensor from the graph in place, making it a leaf."""
        extra = self._extra
        if extra is not None and extra.base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                "as True, gradients are views of DDP buckets, and hence detach_() cannot be called "
                "on these gradients. To fix this error, please refer to the Optimizer.zero_grad() "
                "function in torch/optim/optimizer.py as the solution."
            )
        from glassgrad.autograd import provenance

        if provenance.enabled and self._requires_grad:
            provenance.on_detach_(self, self._grad_fn)
        if self._grad_fn is not None:  # nodes that saved it as a non-leaf now refuse it
            self._x().detached_at = _detached_now()
        self._grad_fn = None
        self._requires_grad = False
        self._views_follow(False)
        if self._extra is not None and self._extra.fw:
            self._extra.fw = None  # PyTorch's detach_ drops the forward-mode tangents too
        return self

    def _views_follow(self, flag: bool) -> None:
        """Views taken under no_grad report their base's ``requires_grad``, as PyTorch's do."""
        extra = self._extra
        if extra is not None and extra.no_grad_views:
            for view in list(extra.no_grad_views):
                if view._grad_fn is None:
                    view._requires_grad = flag

    @property
    def data(self) -> Tensor:
        """A tensor sharing storage (with its own version counter), invisible to autograd."""
        out = _make(self._data)
        if self._vc is None and not _state.inference:
            _inference_alias(out)
        if self._requires_grad:
            from glassgrad.autograd import provenance

            if provenance.enabled:
                provenance.on_detach(self, out, ".data")
        return out

    @data.setter
    def data(self, value) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {_type_name(value)}")
        if self._requires_grad and not value.dtype.is_floating_point:
            raise RuntimeError(
                "data set to a tensor that requires gradients must be floating "
                "point or complex dtype"
            )
        set_data(self, value._data)
        counter = self._vc
        if counter is None or _refcount(counter) > _VC_UNSHARED:
            # Saved for backward somewhere (a node's record holds the version counter), or
            # shared with a view: backward now reads saved inputs from their tensors. A tensor
            # nothing saved (the article's p.grad.data = ...) leaves backward on its fast path.
            _DATA_ASSIGNED[0] = True

    @property
    def _version(self) -> int:
        if self._vc is None:
            raise RuntimeError(_INFERENCE_VERSION)
        return self._vc[0]

    @property
    def _base(self):
        extra = self._extra
        return None if extra is None else extra.base

    def _is_view(self) -> bool:
        return self._base is not None

    def is_inference(self) -> bool:
        """True for tensors created inside ``inference_mode()``."""
        return self._vc is None or (self._extra is not None and self._extra.inference_alias)

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is."""
        return self._output_nr

    def _x(self) -> _Extra:
        extra = self._extra
        if extra is None:
            extra = self._extra = _Extra()
        return extra

    def _edge(self):
        """The graph edge a consumer of this tensor points at: ``(node, output_nr)``."""
        node = self._grad_fn
        if self._extra is not None:
            self._refresh_view()  # (a view may be in the graph since its base was written to)
            node = self._grad_fn
        if node is not None:
            return (node, self._output_nr)
        if self._requires_grad:
            extra = self._extra
            if extra is not None and extra.view_no_grad:
                return (None, 0)  # PyTorch quirk: a no_grad view of a leaf passes grad nowhere
            edge = self._accum
            return edge if edge is not None else (self._accumulator(), 0)
        extra = self._extra
        if extra is not None and extra.prov is not None:
            # A stopped gradient path: still PyTorch's (None, 0), carrying the glass record.
            from glassgrad.autograd.provenance import cut_edge

            return cut_edge(self)
        return (None, 0)

    def _accumulator(self) -> AccumulateGrad:
        # ``_accum`` keeps the whole edge ``(AccumulateGrad, 0)``: consumers share one tuple
        edge = self._accum
        if edge is None:
            edge = self._accum = (AccumulateGrad(self), 0)
        return edge[0]

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) "
                "support the deepcopy protocol at the moment.  If you were "
                "attempting to deepcopy a module, this may be because of a "
                "torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001"
            )
        new = init_slots(type(self).__new__(type(self)), self._data.copy(), self._requires_grad)
        memo[id(self)] = new
        if self._grad is not None:
            new._grad = grad_tensor(self).__deepcopy__(memo)
        if self.__dict__:
            import copy

            new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new


def tensor_method(fn, *names):
    """Install ``fn`` as the Tensor method, operator or property ``names`` (all of them, for
    aliases) and return it: the one way a module outside this class adds to it. Table ops get
    theirs from ``ops.registry.register``, which calls this; each family file installs the rest
    at import, below the functions (``tensor_method(add, "__add__", "__radd__")``)."""
    for name in names:
        setattr(Tensor, name, fn)
    return fn


def _inference_alias(out) -> None:
    """``detach()``/``.data`` of an inference tensor outside inference mode, as PyTorch has
    them: still an inference tensor (no ``requires_grad``, its views refuse writes), but with a
    version counter of its own and writable in place."""
    out._vc = [0]
    out._x().inference_alias = True


def _regenerate_view(view, base):
    """Re-derive a stale view's node: the in-place machinery's (``install_view_regeneration``)."""
    raise RuntimeError("glassgrad.ops.inplace_core is not loaded")


def install_view_regeneration(regenerate) -> None:
    """Bind the in-place machinery's ``regenerate_view(view, base)`` (called once, at import)."""
    global _regenerate_view
    _regenerate_view = regenerate


# the graph core's one link to this class, bound once (glassgrad.autograd.bound)
_bound.install(Tensor, _make, grad_tensor)
import glassgrad.autograd as _autograd  # noqa: E402 - the autograd package imports this module
from glassgrad.autograd import engine as _engine  # noqa: E402
from glassgrad.autograd import escapes as _escapes  # noqa: E402
from glassgrad.autograd import provenance as _provenance  # noqa: E402

_ONES = _autograd._ONES  # the cached implicit gradients, read here without a call
