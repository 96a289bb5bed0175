"""The picture and measurement part of ``glassgrad demo``: the seed article, drawn and answered.

One picture per experiment in the style of the article's hand-drawn figures, then the article's
two open questions answered with measurements: does ``detach()`` copy, and is the GAN's
discriminator step cheaper with ``no_grad`` than with ``detach()``?
"""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path

import numpy as np

from glassgrad.glass._dot import INSTALL_HINT
from glassgrad.glass.cost import cost
from glassgrad.glass.draw import draw

__all__ = ["pictures", "detach_copies", "gan_step", "answers"]


def pictures(outcomes: list, out: Path, formats=("svg", "png")) -> list[Path]:
    """Draw each experiment's graph into ``out``; DOT text only when Graphviz is missing."""
    import glassgrad
    from glassgrad.glass import record_flows

    out.mkdir(parents=True, exist_ok=True)
    written = []
    has_dot = shutil.which("dot") is not None
    with record_flows():
        for index, outcome in enumerate(outcomes, 1):
            graph = _graph(outcome, glassgrad)
            stem = out / f"{index}-{outcome.experiment.fn.__name__}"
            stem.with_suffix(".dot").write_text(graph.source + "\n")
            written.append(stem.with_suffix(".dot"))
            if has_dot:
                written += [graph.render(stem.with_suffix(f".{fmt}"), fmt) for fmt in formats]
    return written


def _graph(outcome, glassgrad):
    """Replay the experiment with flows recorded; the error case draws y with its error."""
    from glassgrad import seed_experiments

    fresh = seed_experiments.run(outcome.experiment, glassgrad)
    names = {**fresh.params, **fresh.tensors}
    if fresh.error is None:
        return draw(fresh.tensors["w"], params=names)
    a, b, x = (fresh.params[name] for name in "abx")
    y = a * x + b
    graph = draw(y, params={**names, "y": y})
    wrapped = "\\n".join(textwrap.wrap(str(fresh.error), 90))
    note = f"y.requires_grad = False raises RuntimeError:\\n{wrapped}".replace('"', "'")
    graph.source = graph.source.replace(
        "digraph glassgrad {", f'digraph glassgrad {{\n  label="{note}"; labelloc=b;', 1
    )
    return graph


def detach_copies(glassgrad, n: int = 1_000_000) -> dict:
    """Does ``detach()`` copy? Storage addresses, shared memory and ``cost`` on a big tensor."""
    x = glassgrad.randn(n, requires_grad=True)
    y = x * 2.0
    detached = y.detach()
    z = (detached * x).sum()
    report = cost(z)
    return {
        "bytes": y.nbytes,
        "same_address": detached.data_ptr() == y.data_ptr(),
        "shares_memory": bool(np.shares_memory(detached.numpy(), y.numpy(force=True))),
        "copied": report.detach_copied_bytes,
        "shared": report.detach_shared_bytes,
    }


def _mlp(glassgrad, sizes, seed):
    generator = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        weight = (generator.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        layers.append(
            (
                glassgrad.tensor(weight, requires_grad=True),
                glassgrad.zeros(n_out, requires_grad=True),
            )
        )

    def forward(h):
        for index, (weight, bias) in enumerate(layers):
            h = h @ weight + bias
            if index < len(layers) - 1:
                h = h.tanh()
        return h

    return forward, [t for layer in layers for t in layer]


def gan_step(glassgrad, batch: int = 256, repeat: int = 20) -> dict:
    """The discriminator step both ways: identical gradients? time and graph memory of each."""
    netG, g_params = _mlp(glassgrad, (64, 256, 256, 128), 0)  # noqa: N806 - the article's names
    netD, d_params = _mlp(glassgrad, (128, 256, 1), 1)  # noqa: N806
    noise = glassgrad.tensor(
        np.random.default_rng(2).standard_normal((batch, 64)), dtype=glassgrad.float32
    )

    def with_detach():
        fake = netG(noise)
        loss = (netD(fake.detach()) ** 2).mean()
        return fake, loss

    def with_no_grad():
        with glassgrad.no_grad():
            fake = netG(noise)
        loss = (netD(fake) ** 2).mean()
        return fake, loss

    results = {}
    for name, step in (("detach", with_detach), ("no_grad", with_no_grad)):
        for p in g_params + d_params:
            p.grad = None
        fake, loss = step()
        held = cost(loss).saved_bytes + (cost(fake).saved_bytes if fake.grad_fn else 0)
        loss.backward()
        grads = [p.grad.numpy().copy() for p in d_params]
        results[name] = {
            "graph_bytes": held,
            "seconds": _best(step, repeat),
            "grads": grads,
            "g_grads": any(p.grad is not None for p in g_params),
        }
    same = all(
        np.array_equal(a, b)
        for a, b in zip(results["detach"]["grads"], results["no_grad"]["grads"], strict=True)
    )
    return {"identical": same, **results}


def _best(step, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()[1].backward()
        times.append(time.perf_counter() - start)
    return min(times)


def answers(glassgrad) -> str:
    """The text answering the article's two open questions, from fresh measurements."""
    copy = detach_copies(glassgrad)
    gan = gan_step(glassgrad)
    detach, no_grad = gan["detach"], gan["no_grad"]
    lines = [
        "The article's open questions, measured:",
        f"1. Does detach() copy? No. y.detach() of a {copy['bytes']:,}-byte tensor has the same "
        f"data address ({copy['same_address']}), shares memory ({copy['shares_memory']}); "
        f"bytes copied: {copy['copied']}, bytes shared: {copy['shared']:,}.",
        "2. GAN discriminator step, fake = netG(z); D on fake.detach() vs fake made under "
        f"no_grad(): identical D gradients: {gan['identical']}.",
        f"   detach():  {detach['seconds'] * 1e3:.2f} ms per step, graph holds "
        f"{detach['graph_bytes']:,} bytes (netG's graph stays alive with fake)",
        f"   no_grad(): {no_grad['seconds'] * 1e3:.2f} ms per step, graph holds "
        f"{no_grad['graph_bytes']:,} bytes (no graph for netG)",
        f"   no_grad() takes {no_grad['seconds'] / detach['seconds']:.2f}x the time and "
        f"{no_grad['graph_bytes'] / max(detach['graph_bytes'], 1):.2f}x the graph memory; but "
        "the generator step then has to run netG again with a graph, as the article suspects.",
    ]
    return "\n".join(lines)


def missing_dot_hint() -> str:
    """What the demo prints instead of pictures when Graphviz is not installed."""
    return INSTALL_HINT
