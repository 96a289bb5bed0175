"""Fine-tuning around a frozen middle module, written as PyTorch code.

A network of three modules (module1 -> module2 -> module3, each Linear-BatchNorm1d-ReLU but the
head) learns task A. Then module2 is frozen with ``requires_grad_(False)`` and ``.eval()``, module3
is replaced by a new head, and module1 and module3 learn task B. The script shows that gradients
pass *through* the frozen module into module1, while module2's parameters and buffers stay
bit-for-bit unchanged; and the trap: without ``eval()`` BatchNorm's running statistics still move.

    python examples/finetune.py               # finetune.png in the working directory
    python examples/finetune.py --steps 100 --out figures
"""

from __future__ import annotations

from _common import parser, plt, progress, save_figure, say

import glassgrad as torch
import glassgrad.glass
import glassgrad.nn as nn

FEATURES, HIDDEN = 10, 32


def block(n_in: int, n_out: int):
    return nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU())


class Net(nn.Module):
    """module1 -> module2 (the part to freeze later) -> module3 (the task's head)."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.module1 = block(FEATURES, HIDDEN)
        self.module2 = block(HIDDEN, HIDDEN)
        self.module3 = nn.Linear(HIDDEN, classes)

    def forward(self, x):
        return self.module3(self.module2(self.module1(x)))


def make_task(classes: int, n: int = 2048):
    """Inputs and labels from a random teacher: ``argmax(tanh(x @ A) @ B)``."""
    teacher_a, teacher_b = torch.randn(FEATURES, 16), torch.randn(16, classes)
    x = torch.randn(n, FEATURES)
    y = (torch.tanh(x @ teacher_a) @ teacher_b).argmax(dim=1)
    split = n * 3 // 4
    return (x[:split], y[:split]), (x[split:], y[split:])


def train(model, params, data, steps: int, args, desc: str, watch=None):
    """Adam on ``params`` with minibatches of 64; ``watch(model)`` runs after every backward."""
    (x, y), _ = data
    optimizer = torch.optim.Adam(params, lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in progress(range(steps), args, desc=desc):
        index = torch.randint(0, x.shape[0], (64,))
        loss = loss_fn(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        if watch is not None:
            watch(model)
        optimizer.step()
        losses.append(loss.item())
    return losses


def accuracy(model, data) -> float:
    _, (x, y) = data
    was_training = model.training
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train(was_training)
    return correct


def snapshot(module) -> dict:
    return {name: value.clone() for name, value in module.state_dict().items()}


def changed(module, before: dict) -> list:
    state = module.state_dict()
    return [name for name, value in state.items() if not torch.equal(value, before[name])]


def finetune(checkpoint, task_b, args, *, use_eval: bool, desc: str):
    """Task B with module2 frozen; ``use_eval=False`` shows the BatchNorm trap."""
    model = Net(classes=4)
    model.load_state_dict(checkpoint)
    model.module3 = nn.Linear(HIDDEN, 3)  # a new head for the new task
    model.module2.requires_grad_(False)
    if use_eval:
        model.module2.eval()  # after model.train(): train() would switch module2 back
    before = snapshot(model.module2)
    seen = {"module1_grad_norms": [], "module2_grads": []}

    def watch(m):
        seen["module1_grad_norms"].append(m.module1[0].weight.grad.abs().sum().item())
        seen["module2_grads"].extend(p.grad for p in m.module2.parameters())

    trainable = [p for p in model.parameters() if p.requires_grad]
    # glassgrad's own check (not PyTorch's): did anything frozen change inside the block?
    with glassgrad.glass.audit(model.module2, warn=False) as audit:
        losses = train(model, trainable, task_b, args.steps, args, desc, watch)
    seen["audit"] = audit.changes
    return model, losses, before, seen


def main(argv=None) -> dict:
    """Train on task A, fine-tune on task B around the frozen module2, and report."""
    args = parser(__doc__.splitlines()[0], steps=1000).parse_args(argv)
    torch.manual_seed(args.seed)
    task_a, task_b = make_task(classes=4), make_task(classes=3)
    model = Net(classes=4)
    losses_a = train(model, model.parameters(), task_a, args.steps, args, "task A (all)")
    checkpoint = snapshot(model)

    tuned, losses_b, before, seen = finetune(
        checkpoint, task_b, args, use_eval=True, desc="task B (module2 frozen, eval)"
    )
    trap, losses_trap, trap_before, trap_seen = finetune(
        checkpoint, task_b, args, use_eval=False, desc="task B (module2 frozen, no eval)"
    )
    trap_changed = changed(trap.module2, trap_before)
    results = {
        "task_a_accuracy": accuracy(model, task_a),
        "task_b_accuracy": accuracy(tuned, task_b),
        "frozen_unchanged": changed(tuned.module2, before) == [],
        "module1_grads_nonzero": all(norm > 0 for norm in seen["module1_grad_norms"]),
        "module2_grads_none": all(grad is None for grad in seen["module2_grads"]),
        "trap_changed": trap_changed,
        "trap_parameters_unchanged": not any(
            name in trap_changed for name, _ in trap.module2.named_parameters()
        ),
        "audit": seen["audit"],
        "trap_audit": trap_seen["audit"],
        "figure": figure(losses_a, losses_b, losses_trap, trap, trap_before, args),
    }
    report(results, args)
    return results


def figure(losses_a, losses_b, losses_trap, trap, trap_before, args) -> str:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(losses_a, lw=0.7, label="task A: all modules train")
    steps = range(len(losses_a), len(losses_a) + len(losses_b))
    left.plot(steps, losses_b, lw=0.7, label="task B: module2 frozen + eval()")
    left.plot(steps, losses_trap, lw=0.7, alpha=0.6, label="task B: frozen, no eval()")
    left.set_xlabel("step")
    left.set_ylabel("cross-entropy")
    left.legend()
    drift = (trap.module2[1].running_mean - trap_before["1.running_mean"]).abs()
    right.bar(range(HIDDEN), drift.numpy(), color="tab:red")
    right.set_title("module2 BatchNorm running_mean drift without eval()\n(zero with eval())")
    right.set_xlabel("channel")
    return save_figure(fig, args, "finetune.png")


def report(results: dict, args) -> None:
    say(
        args,
        f"task A accuracy {100 * results['task_a_accuracy']:.1f}%, "
        f"task B accuracy {100 * results['task_b_accuracy']:.1f}%",
        f"module1 got a nonzero gradient through frozen module2 at every step: "
        f"{results['module1_grads_nonzero']}",
        f"module2 parameters never got a .grad: {results['module2_grads_none']}",
        f"module2 parameters and buffers bit-for-bit unchanged: {results['frozen_unchanged']}",
        f"the trap, requires_grad_(False) without eval(): changed {results['trap_changed']} "
        f"(parameters unchanged: {results['trap_parameters_unchanged']})",
        "glassgrad.glass.audit of module2 with eval(): "
        + ("; ".join(results["audit"]) or "nothing changed"),
        "glassgrad.glass.audit of module2 without eval(): "
        + ("; ".join(results["trap_audit"]) or "nothing changed"),
        f"figure: {results['figure']}",
    )


if __name__ == "__main__":
    main()
