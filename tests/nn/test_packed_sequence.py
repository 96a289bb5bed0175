"""nn.utils.rnn (packing and padding) against PyTorch: values, gradients, grad_fn names, errors."""

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as R

import glassgrad
from glassgrad.nn.utils import rnn as G


def _pair(array):
    return (
        torch.tensor(array, requires_grad=True),
        glassgrad.tensor(array, requires_grad=True),
    )


def _same(ours, theirs, atol=1e-12):
    np.testing.assert_allclose(np.asarray(ours.detach()._data), theirs.detach().numpy(), atol=atol)
    assert tuple(ours.shape) == tuple(theirs.shape)


def _same_packed(ours, theirs):
    _same(ours.data, theirs.data)
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    for name in ("sorted_indices", "unsorted_indices"):
        mine, ref = getattr(ours, name), getattr(theirs, name)
        assert (mine is None) == (ref is None)
        if ref is not None:
            assert mine.tolist() == ref.tolist()


def _backward_both(ours, theirs, seed=0):
    """Backward of a random weighting of every output (lists pair up output by output)."""
    ours, theirs = (ours, theirs) if isinstance(ours, list) else ([ours], [theirs])
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(tuple(t.shape)) for t in theirs]
    sum((t * torch.tensor(w)).sum() for t, w in zip(theirs, weights, strict=True)).backward()
    sum((g * glassgrad.tensor(w)).sum() for g, w in zip(ours, weights, strict=True)).backward()


LENGTH_CASES = [([4, 2, 1], True), ([4, 4, 3, 1], True), ([2, 4, 1], False), ([1, 3, 2, 4], False)]


@pytest.mark.parametrize("lengths,enforce_sorted", LENGTH_CASES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_pad_roundtrip(lengths, enforce_sorted, batch_first):
    rng = np.random.default_rng(len(lengths))
    shape = (len(lengths), 4, 3) if batch_first else (4, len(lengths), 3)
    tx, gx = _pair(rng.standard_normal(shape))
    for total in (None, 6):
        tp = R.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
        gp = G.pack_padded_sequence(gx, lengths, batch_first, enforce_sorted)
        _same_packed(gp, tp)
        assert type(gp.data.grad_fn).__name__ == type(tp.data.grad_fn).__name__
        tout, tlen = R.pad_packed_sequence(tp, batch_first, -1.5, total)
        gout, glen = G.pad_packed_sequence(gp, batch_first, -1.5, total)
        _same(gout, tout)
        assert glen.tolist() == tlen.tolist() and glen.dtype == glassgrad.int64
        assert type(gout.grad_fn).__name__ == type(tout.grad_fn).__name__
        _backward_both(gout, tout)
        _same(gx.grad, tx.grad)


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_pad_double_backward(batch_first):
    shape = (2, 3, 2) if batch_first else (3, 2, 2)
    tx, gx = _pair(np.random.default_rng(1).standard_normal(shape))
    tw, gw = _pair(np.random.default_rng(2).standard_normal(shape))
    outs = []
    for x, w, rnn, lib in ((tx, tw, R, torch), (gx, gw, G, glassgrad)):
        packed = rnn.pack_padded_sequence(x * w, [1, 3], batch_first, enforce_sorted=False)
        padded, _ = rnn.pad_packed_sequence(packed, batch_first, 0.5, 4)
        (grad,) = lib.autograd.grad((padded**3).sum(), x, create_graph=True)
        (grad * grad).sum().backward()
        outs.append(w.grad)
    _same(outs[1], outs[0])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(batch_first, padding_side):
    rng = np.random.default_rng(3)
    pairs = [_pair(rng.standard_normal((n, 2, 3))) for n in (2, 5, 1)]
    tout = R.pad_sequence([t for t, _ in pairs], batch_first, 0.5, padding_side)
    gout = G.pad_sequence([g for _, g in pairs], batch_first, 0.5, padding_side)
    _same(gout, tout)
    assert type(gout.grad_fn).__name__ == type(tout.grad_fn).__name__
    _backward_both(gout, tout)
    for t, g in pairs:
        _same(g.grad, t.grad)


def test_pad_sequence_broadcasts_like_copy():
    seqs = [np.ones((3, 2)), np.arange(2.0)]
    tout = R.pad_sequence([torch.tensor(s) for s in seqs], True)
    gout = G.pad_sequence([glassgrad.tensor(s) for s in seqs], True)
    _same(gout, tout)


def test_pad_sequence_dtype_follows_first():
    seqs = [np.array([1, 2, 3]), np.array([4.7])]
    tout = R.pad_sequence([torch.tensor(s) for s in seqs], padding_value=2.5)
    gout = G.pad_sequence([glassgrad.tensor(s) for s in seqs], padding_value=2.5)
    assert gout.tolist() == tout.tolist() and str(gout.dtype) == str(tout.dtype)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_unpack_sequence(enforce_sorted):
    rng = np.random.default_rng(4)
    sizes = (5, 3, 2) if enforce_sorted else (2, 5, 3)
    pairs = [_pair(rng.standard_normal((n, 2))) for n in sizes]
    tp = R.pack_sequence([t for t, _ in pairs], enforce_sorted)
    gp = G.pack_sequence([g for _, g in pairs], enforce_sorted)
    _same_packed(gp, tp)
    tseqs, gseqs = R.unpack_sequence(tp), G.unpack_sequence(gp)
    assert len(tseqs) == len(gseqs)
    for t, g in zip(tseqs, gseqs, strict=True):
        _same(g, t)
        assert type(g.grad_fn).__name__ == type(t.grad_fn).__name__
    _backward_both(gseqs, tseqs)
    for t, g in pairs:
        _same(g.grad, t.grad)


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence(batch_first):
    tx, gx = _pair(
        np.random.default_rng(5).standard_normal((3, 4, 2) if batch_first else (4, 3, 2))
    )
    lengths = [4, 1, 3]
    tin, gin = tx * 1.0, gx * 1.0  # not leaves: PyTorch transposes the input in place
    tseqs = R.unpad_sequence(tin, torch.tensor(lengths), batch_first)
    gseqs = G.unpad_sequence(gin, glassgrad.tensor(lengths), batch_first)
    assert tuple(gin.shape) == tuple(tin.shape)
    for t, g in zip(tseqs, gseqs, strict=True):
        _same(g, t)
    _backward_both(gseqs, tseqs)
    _same(gx.grad, tx.grad)


def test_repr_and_methods():
    seqs = [[1, 2, 3], [4, 5]]
    tp = R.pack_sequence([torch.tensor(s) for s in seqs])
    gp = G.pack_sequence([glassgrad.tensor(s) for s in seqs])
    assert repr(gp) == repr(tp)
    assert repr(gp.double()) == repr(tp.double())
    assert gp.long() is gp and gp.to(glassgrad.int64) is gp
    assert gp._fields == tp._fields and gp.is_cuda is False
    tu = R.pack_padded_sequence(
        torch.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]]), [2, 1, 3], True, False
    )
    gu = G.pack_padded_sequence(
        glassgrad.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]]), [2, 1, 3], True, False
    )
    assert repr(gu) == repr(tu)
    assert repr(G.pad_packed_sequence(gu, True)) == repr(R.pad_packed_sequence(tu, True))
    perm = [2, 0, 3, 1]
    assert (
        G.invert_permutation(glassgrad.tensor(perm)).tolist()
        == R.invert_permutation(torch.tensor(perm)).tolist()
    )
    assert G.invert_permutation(None) is None
    made = G.PackedSequence((glassgrad.zeros(3), glassgrad.tensor([2, 1])))
    assert repr(made) == repr(R.PackedSequence((torch.zeros(3), torch.tensor([2, 1]))))


def _raises_same(call):
    with pytest.raises(Exception) as theirs:
        call(torch, R)
    with pytest.raises(type(theirs.value)) as ours:
        call(glassgrad, G)
    assert str(ours.value) == str(theirs.value)


ERRORS = [
    lambda lib, m: m.pack_padded_sequence(lib.zeros(4, 3, 2), [2, 4, 1]),
    lambda lib, m: m.pack_padded_sequence(lib.zeros(4, 3, 2), [4, 2, 0]),
    lambda lib, m: m.pack_padded_sequence(lib.zeros(4, 3, 2), [0, 2, 4], enforce_sorted=False),
    lambda lib, m: m.pack_padded_sequence(lib.zeros(4, 3, 2), [4, 2]),
    lambda lib, m: m.pack_padded_sequence(lib.zeros(4, 3, 2), lib.tensor([[4, 2, 1]])),
    lambda lib, m: m.pack_padded_sequence(lib.zeros(4, 3, 2), lib.tensor(3)),
    lambda lib, m: m.pack_padded_sequence(lib.zeros(0, 3), [1, 1, 1]),
    lambda lib, m: m.pack_padded_sequence(lib.zeros(3), [3]),
    lambda lib, m: m.pad_packed_sequence(
        m.pack_padded_sequence(lib.zeros(4, 3), [4, 2, 1]), total_length=3
    ),
    lambda lib, m: m.pad_sequence(5),
    lambda lib, m: m.pad_sequence([]),
    lambda lib, m: m.pad_sequence([lib.zeros(2)], padding_side="middle"),
    lambda lib, m: m.pad_sequence([lib.tensor(1.0), lib.tensor(2.0)]),
    lambda lib, m: m.pad_sequence([lib.zeros(3, 2), lib.zeros(2, 3)]),
    lambda lib, m: m.pad_sequence([lib.zeros(3, 2), lib.zeros(2, 2, 2)]),
    lambda lib, m: m.pack_sequence([lib.zeros(1), lib.zeros(2)]),
    lambda lib, m: m.pack_sequence([]),
    lambda lib, m: m.unpad_sequence(lib.zeros(3, 2), lib.tensor([3, 1]), batch_first=True),
    lambda lib, m: m.PackedSequence(lib.zeros(3)),
    lambda lib, m: m.unpad_sequence(lib.zeros(3, 2, requires_grad=True), lib.tensor([3, 1])),
]


@pytest.mark.parametrize("call", ERRORS)
def test_errors_match(call):
    _raises_same(call)


def test_lengths_converted_like_pytorch():
    x = np.arange(12.0).reshape(4, 3, 1)
    for lengths in ([4.7, 2, 1], (4, 2, 1)):
        _same_packed(
            G.pack_padded_sequence(glassgrad.tensor(x), lengths),
            R.pack_padded_sequence(torch.tensor(x), lengths),
        )
    _same_packed(
        G.pack_padded_sequence(glassgrad.tensor(x), glassgrad.tensor([4.0, 2.0, 1.0])),
        R.pack_padded_sequence(torch.tensor(x), torch.tensor([4.0, 2.0, 1.0])),
    )


def test_length_past_input_is_refused():
    # PyTorch reads past the end of its input here; glassgrad refuses.
    with pytest.raises(RuntimeError, match="exceeds"):
        G.pack_padded_sequence(glassgrad.zeros(4, 3), [5, 2, 1])


RNN_CASES = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
    ("LSTM", {"num_layers": 2}),
    ("LSTM", {"bidirectional": True, "num_layers": 2}),
    ("GRU", {"bidirectional": True}),
    ("GRU", {"num_layers": 2, "bias": False}),
]


def _modules(name, kwargs):
    theirs = getattr(torch.nn, name)(3, 4, dtype=torch.float64, **kwargs)
    ours = getattr(glassgrad.nn, name)(3, 4, dtype=glassgrad.float64, **kwargs)
    ours.load_state_dict({k: glassgrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return theirs, ours


@pytest.mark.parametrize("name,kwargs", RNN_CASES)
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("with_hx", [False, True])
def test_recurrent_layers_take_packed_input(name, kwargs, enforce_sorted, with_hx):
    theirs, ours = _modules(name, kwargs)
    rng = np.random.default_rng(6)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    tx, gx = _pair(rng.standard_normal((5, 4, 3)))
    states = ()
    if with_hx:
        layers = theirs.num_layers * (2 if theirs.bidirectional else 1)
        states = [
            _pair(rng.standard_normal((layers, 4, 4))) for _ in range(2 if name == "LSTM" else 1)
        ]
    thx = tuple(t for t, _ in states) if name == "LSTM" else (states[0][0] if states else None)
    ghx = tuple(g for _, g in states) if name == "LSTM" else (states[0][1] if states else None)
    tp = R.pack_padded_sequence(tx, lengths, enforce_sorted=enforce_sorted)
    gp = G.pack_padded_sequence(gx, lengths, enforce_sorted=enforce_sorted)
    tout, tstate = theirs(tp, thx if states else None)
    gout, gstate = ours(gp, ghx if states else None)
    assert isinstance(gout, G.PackedSequence)
    _same_packed(gout, tout)
    tstate = tstate if isinstance(tstate, tuple) else (tstate,)
    gstate = gstate if isinstance(gstate, tuple) else (gstate,)
    for g, t in zip(gstate, tstate, strict=True):
        _same(g, t)
    _backward_both([gout.data, *gstate], [tout.data, *tstate])
    _same(gx.grad, tx.grad)
    for t, g in states:
        _same(g.grad, t.grad)
    tparams = dict(theirs.named_parameters())
    for key, param in ours.named_parameters():
        _same(param.grad, tparams[key].grad)


def test_packed_output_pads_like_pytorch():
    theirs, ours = _modules("LSTM", {"batch_first": True})
    x = np.random.default_rng(7).standard_normal((3, 4, 3))
    tp = R.pack_padded_sequence(torch.tensor(x), [2, 4, 1], True, False)
    gp = G.pack_padded_sequence(glassgrad.tensor(x), [2, 4, 1], True, False)
    tout, _ = R.pad_packed_sequence(theirs(tp)[0], True)
    gout, _ = G.pad_packed_sequence(ours(gp)[0], True)
    _same(gout, tout)


def _forward_errors(lib, m, name):
    module = getattr(lib.nn, name)(3, 4)
    h = lib.zeros(1, 3, 4)
    hx = (h, h) if name == "LSTM" else h
    packed = m.pack_padded_sequence(lib.zeros(5, 2, 3), [5, 2])
    calls = [
        lambda: module(lib.zeros(5, 2, 3), hx),
        lambda: module(lib.zeros(5, 2, 5)),
        lambda: module(lib.zeros(5, 2, 3, 1)),
        lambda: module(lib.zeros(5, 3), hx),
    ]
    if name != "LSTM":  # PyTorch's LSTM fails later, inside its kernel, for a packed input
        calls.append(lambda: module(packed, hx))
        calls.append(lambda: module(m.pack_padded_sequence(lib.zeros(5, 2, 5), [5, 2])))
    else:
        calls.append(lambda: module(lib.zeros(5, 3), (lib.zeros(4), lib.zeros(1, 4))))
        calls.append(lambda: module(lib.zeros(5, 2, 3), (lib.zeros(1, 2, 4), h)))
    return calls


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("which", range(7))
def test_recurrent_layer_errors_match(name, which):
    _raises_same(lambda lib, m: _forward_errors(lib, m, name)[which]())
