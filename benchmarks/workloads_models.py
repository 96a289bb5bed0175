"""Real-model rows: G1 (a nanoGPT-like training step) and L1 (an LSTM language-model step).

Both are written as their well-known scripts write them, with nothing but the public API, so
the same function runs on PyTorch and on glassgrad: G1 follows nanoGPT's model (pre-norm blocks,
causal ``scaled_dot_product_attention``, exact GELU, tied ``lm_head``/``wte``, AdamW with
weight decay on matrices only, ``clip_grad_norm_``); L1 follows the word-language-model example
(embedding, two-layer LSTM, linear decoder, hidden state detached between steps, gradient
clipping, a manual SGD update). Every step starts from the same weights (an in-place copy, the
same for both contenders), so a timed loop stays at one point and the gradients can be checked.
There is no hand-written NumPy floor: writing a GPT's backward by hand measures the author.
"""

from __future__ import annotations

import numpy as np

from workloads import Bench, Workload, import_contender

# G1: 4 layers, 4 heads, 128 wide, block 64, batch 8 (the nanoGPT-like size)
G1 = {"layers": 4, "heads": 4, "width": 128, "block": 64, "batch": 8, "vocab": 65}
# L1: two-layer LSTM of 128, embedding 128, bptt 35, batch 20, vocabulary 2,000
L1 = {"layers": 2, "width": 128, "bptt": 35, "batch": 20, "vocab": 2000}


def _init_like(model, seed: int) -> list[np.ndarray]:
    """Deterministic float32 weights for ``model``'s parameters, by name (both libraries name
    them alike): normal(0, 0.02) for matrices, 1 for norm weights, 0 for biases."""
    rng = np.random.default_rng(seed)
    arrays = []
    for name, param in model.named_parameters():
        shape = tuple(param.shape)
        if name.endswith("bias"):
            arrays.append(np.zeros(shape, np.float32))
        elif len(shape) == 1:
            arrays.append(np.ones(shape, np.float32))
        else:
            arrays.append((rng.standard_normal(shape) * 0.02).astype(np.float32))
    return arrays


def _gpt(torch):
    nn, F = torch.nn, torch.nn.functional
    cfg = G1

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(cfg["width"], 3 * cfg["width"])
            self.c_proj = nn.Linear(cfg["width"], cfg["width"])

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(C, dim=2)
            heads = cfg["heads"]
            q = q.view(B, T, heads, C // heads).transpose(1, 2)
            k = k.view(B, T, heads, C // heads).transpose(1, 2)
            v = v.view(B, T, heads, C // heads).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(cfg["width"], 4 * cfg["width"])
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * cfg["width"], cfg["width"])

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(cfg["width"])
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(cfg["width"])
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(
                dict(
                    wte=nn.Embedding(cfg["vocab"], cfg["width"]),
                    wpe=nn.Embedding(cfg["block"], cfg["width"]),
                    h=nn.ModuleList([Block() for _ in range(cfg["layers"])]),
                    ln_f=nn.LayerNorm(cfg["width"]),
                )
            )
            self.lm_head = nn.Linear(cfg["width"], cfg["vocab"], bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # tied, as nanoGPT

        def forward(self, idx, targets):
            t = idx.size(1)
            pos = torch.arange(0, t, dtype=torch.long)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    return GPT()


def g1_tensor(torch) -> Bench:
    """One nanoGPT training step: forward, backward, clip, AdamW."""
    model = _gpt(torch)
    initial = [torch.tensor(a) for a in _init_like(model, seed=1)]
    params = list(model.parameters())
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=6e-4, betas=(0.9, 0.95))
    rng = np.random.default_rng(2)
    shape = (G1["batch"], G1["block"])
    x = torch.tensor(rng.integers(0, G1["vocab"], shape))
    y = torch.tensor(rng.integers(0, G1["vocab"], shape))

    def step():
        with torch.no_grad():
            for p, p0 in zip(params, initial, strict=True):
                p.copy_(p0)
        optimizer.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        found[:] = [loss.detach(), torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)]
        optimizer.step()

    found = []
    return Bench(step, lambda: _checks(found))


def _lstm(torch):
    nn = torch.nn
    cfg = L1

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(cfg["vocab"], cfg["width"])
            self.rnn = nn.LSTM(cfg["width"], cfg["width"], cfg["layers"])
            self.decoder = nn.Linear(cfg["width"], cfg["vocab"])

        def forward(self, tokens, hidden):
            output, hidden = self.rnn(self.encoder(tokens), hidden)
            return self.decoder(output).view(-1, cfg["vocab"]), hidden

    return RNNModel()


def l1_tensor(torch) -> Bench:
    """One word-language-model step: detach the hidden state, forward, backward, clip, SGD."""
    model = _lstm(torch)
    initial = [torch.tensor(a) for a in _init_like(model, seed=3)]
    params = list(model.parameters())
    rng = np.random.default_rng(4)
    shape = (L1["bptt"], L1["batch"])
    data = torch.tensor(rng.integers(0, L1["vocab"], shape))
    targets = torch.tensor(rng.integers(0, L1["vocab"], shape[0] * shape[1]))
    zeros = np.zeros((L1["layers"], L1["batch"], L1["width"]), np.float32)
    start = (torch.tensor(zeros), torch.tensor(zeros))
    criterion = torch.nn.CrossEntropyLoss()
    lr = 20.0

    def step():
        with torch.no_grad():
            for p, p0 in zip(params, initial, strict=True):
                p.copy_(p0)
        hidden = tuple(h.detach() for h in start)  # the example's repackage_hidden
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        found[:] = [loss.detach(), torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)]
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)

    found = []
    return Bench(step, lambda: _checks(found))


def _checks(found) -> list[float]:
    """The last step's loss and the norm of all its gradients (what clipping saw)."""
    return [float(value) for value in found]


# PyTorch 2.13's loss and gradient norm for these weights and batches (float32): both
# contenders are checked against them (run.py to 1e-3, tests/test_benchmarks.py to 1e-6).
G1_EXPECTED = [4.202366352081299, 1.3549455404281616]
L1_EXPECTED = [7.61605978012085, 0.36678388714790344]

MODEL_WORKLOADS = {
    "G1": Workload(
        key="G1",
        title=(
            "nanoGPT-like training step: 4 layers, 4 heads, 128 wide, block 64, batch 8, "
            "float32, AdamW, clip_grad_norm_"
        ),
        setups={
            "torch": lambda: g1_tensor(import_contender("torch")),
            "glassgrad": lambda: g1_tensor(import_contender("glassgrad")),
        },
        expected_grads=G1_EXPECTED,
        target_vs_torch=1.3,
    ),
    "L1": Workload(
        key="L1",
        title=(
            "LSTM language-model step: 2 layers of 128, bptt 35, batch 20, vocabulary 2,000, "
            "float32, clip_grad_norm_, SGD"
        ),
        setups={
            "torch": lambda: l1_tensor(import_contender("torch")),
            "glassgrad": lambda: l1_tensor(import_contender("glassgrad")),
        },
        expected_grads=L1_EXPECTED,
        target_vs_torch=1.3,
    ),
}
