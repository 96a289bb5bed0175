"""A GAN that learns a ring of 8 Gaussians in 2-D, written as PyTorch code.

The discriminator must not train the generator, so its step sees the fake through a cut:
``fake.detach()`` (default) or, with ``--variant no_grad``, a fake regenerated under
``torch.no_grad()``. Both give the discriminator bit-identical gradients; this script checks that
on one batch and measures what each variant costs (time per D step, memory the graph holds).

    python examples/gan.py                  # ~3000 steps, gan.png in the working directory
    python examples/gan.py --variant no_grad --steps 500 --out figures
"""

from __future__ import annotations

import math
import statistics
import time

from _common import parser, plt, progress, save_figure, say

import glassgrad as torch
import glassgrad.glass
import glassgrad.nn as nn

RADIUS, STD, MODES = 2.0, 0.05, 8


def sample_ring(n: int):
    """``n`` points from 8 Gaussians evenly spaced on a circle."""
    mode = torch.randint(0, MODES, (n,))
    angle = mode.float() * (2 * math.pi / MODES)
    centres = torch.stack([angle.cos(), angle.sin()], dim=1) * RADIUS
    return centres + STD * torch.randn(n, 2)


def mlp(n_in: int, n_out: int, hidden: int = 64):
    return nn.Sequential(
        nn.Linear(n_in, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_out),
    )


def discriminator_loss(G, D, bce, real, z, variant: str):
    """The D step's loss and the fake it used; the fake carries G's graph only for ``detach``."""
    if variant == "detach":
        fake = G(z)
        d_fake = D(fake.detach())
    else:
        with torch.no_grad():
            fake = G(z)
        d_fake = D(fake)
    n = real.shape[0]
    return bce(D(real), torch.ones(n, 1)) + bce(d_fake, torch.zeros(n, 1)), fake


def d_gradients(G, D, bce, real, z, variant: str):
    """D's gradients for one batch, and whether G was left without any."""
    G.zero_grad()
    D.zero_grad()
    loss, _ = discriminator_loss(G, D, bce, real, z, variant)
    loss.backward()
    grads = [p.grad.clone() for p in D.parameters()]
    g_untouched = all(p.grad is None for p in G.parameters())
    D.zero_grad()
    return loss, grads, g_untouched


def compare_variants(G, D, bce, real, z) -> dict:
    """Both D steps on the same batch: are the losses and gradients bit-identical?"""
    loss_a, grads_a, untouched_a = d_gradients(G, D, bce, real, z, "detach")
    loss_b, grads_b, untouched_b = d_gradients(G, D, bce, real, z, "no_grad")
    return {
        "identical": torch.equal(loss_a, loss_b)
        and all(torch.equal(a, b) for a, b in zip(grads_a, grads_b, strict=True)),
        "g_grads_none": untouched_a and untouched_b,
    }


def measure_cost(G, D, bce, real, z, variant: str, repeats: int = 20) -> dict:
    """Time per D step (forward + backward) and what the graph holds while D's loss exists.

    With ``detach`` the fake keeps G's graph alive for the G step; with ``no_grad`` nothing of
    G is recorded, but the G step has to run G forward again.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss, fake = discriminator_loss(G, D, bce, real, z, variant)
        held_d, held_g = glassgrad.glass.cost(loss), glassgrad.glass.cost(fake)
        loss.backward()
        times.append(time.perf_counter() - start)
        D.zero_grad()
    return {
        "d_step_ms": 1e3 * statistics.median(times),
        "graph_nodes": held_d.nodes + held_g.nodes,
        "graph_bytes": held_d.saved_bytes + held_g.saved_bytes,
        "generator_graph_bytes": held_g.saved_bytes,
        "g_forwards_per_step": 1 if variant == "detach" else 2,
    }


def mode_coverage(samples) -> tuple[int, float]:
    """How many of the 8 modes get a sample within 4 std, and what fraction of samples do."""
    angle = torch.arange(MODES).float() * (2 * math.pi / MODES)
    centres = torch.stack([angle.cos(), angle.sin()], dim=1) * RADIUS
    distance = ((samples.unsqueeze(1) - centres.unsqueeze(0)) ** 2).sum(-1).sqrt()
    nearest = distance.min(dim=1)
    close = nearest.values < 4 * STD
    covered = len(set(nearest.indices[close].tolist()))
    return covered, close.float().mean().item()


def train(G, D, args, batch: int = 256):
    bce = nn.BCEWithLogitsLoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    ones = torch.ones(batch, 1)
    history = {"d_loss": [], "g_loss": []}
    for _ in progress(range(args.steps), args, desc=f"GAN ({args.variant})"):
        real, z = sample_ring(batch), torch.randn(batch, 2)
        d_loss, fake = discriminator_loss(G, D, bce, real, z, args.variant)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()

        if args.variant == "no_grad":
            fake = G(z)  # the no_grad fake has no graph: G can only learn from a fresh one
        g_loss = bce(D(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
    return history


def figure(real, fake, history, args) -> str:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    left.scatter(*real.numpy().T, s=4, alpha=0.4, c="grey", label="real")
    left.scatter(*fake.numpy().T, s=4, alpha=0.6, c="tab:red", label="generated")
    left.set_aspect("equal")
    left.legend(loc="upper right")
    left.set_title(f"ring of 8 Gaussians after {args.steps} steps ({args.variant})")
    right.plot(history["d_loss"], lw=0.6, label="D loss")
    right.plot(history["g_loss"], lw=0.6, label="G loss")
    right.set_xlabel("step")
    right.legend()
    return save_figure(fig, args, "gan.png")


def main(argv=None) -> dict:
    """Train, compare the two D-step variants, draw, and return the numbers."""
    cli = parser(__doc__.splitlines()[0], steps=3000)
    cli.add_argument("--variant", choices=["detach", "no_grad"], default="detach")
    args = cli.parse_args(argv)
    torch.manual_seed(args.seed)
    G, D = mlp(2, 2), mlp(2, 1)
    bce = nn.BCEWithLogitsLoss()
    real, z = sample_ring(256), torch.randn(256, 2)
    before = compare_variants(G, D, bce, real, z)
    history = train(G, D, args)
    after = compare_variants(G, D, bce, real, z)
    costs = {v: measure_cost(G, D, bce, real, z, v) for v in ("detach", "no_grad")}
    with torch.no_grad():
        samples = G(torch.randn(2000, 2))
    covered, quality = mode_coverage(samples)
    results = {
        "variant": args.variant,
        "steps": args.steps,
        "d_grads_identical": before["identical"] and after["identical"],
        "g_grads_none_in_d_step": before["g_grads_none"] and after["g_grads_none"],
        "cost": costs,
        "modes_covered": covered,
        "fraction_near_a_mode": quality,
        "mean_radius": samples.norm(dim=1).mean().item(),
        "final_d_loss": history["d_loss"][-1] if history["d_loss"] else None,
        "figure": figure(sample_ring(2000), samples, history, args),
    }
    report(results, args)
    return results


def report(results: dict, args) -> None:
    lines = [
        f"D gradients identical with detach() and no_grad: {results['d_grads_identical']}",
        f"G left without gradients by the D step: {results['g_grads_none_in_d_step']}",
    ]
    for variant, cost in results["cost"].items():
        lines.append(
            f"{variant:>8}: {cost['d_step_ms']:.2f} ms per D step, graph holds "
            f"{cost['graph_bytes']:,} bytes in {cost['graph_nodes']} nodes "
            f"({cost['generator_graph_bytes']:,} of them G's), "
            f"{cost['g_forwards_per_step']} G forward(s) per training step"
        )
    lines.append(
        f"modes covered: {results['modes_covered']}/8, "
        f"{100 * results['fraction_near_a_mode']:.0f}% of samples near a mode, "
        f"mean radius {results['mean_radius']:.2f} (the ring's: {RADIUS})"
    )
    lines.append(f"figure: {results['figure']}")
    say(args, *lines)


if __name__ == "__main__":
    main()
