"""The examples run small (a few seconds each) and their results say what the scripts claim:
identical discriminator gradients, a frozen module that did not change, a digit classifier as
accurate as the same network trained by PyTorch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

import glassgrad

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))

import digits  # noqa: E402  (the examples folder is not a package)
import finetune  # noqa: E402
import gan  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread_each():
    """Tests run two at a time on two cores: BLAS thread pools would only fight over them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(threads)


def run(module, tmp_path, *args):
    results = module.main([*args, "--out", str(tmp_path), "--quiet"])
    assert Path(results["figure"]).is_file()
    assert Path(results["figure"]).parent == tmp_path
    return results


# -- GAN ------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["detach", "no_grad"])
def test_gan_d_gradients_identical_and_costs_reported(variant, tmp_path):
    results = run(gan, tmp_path, "--steps", "40", "--variant", variant)
    assert results["d_grads_identical"] is True
    assert results["g_grads_none_in_d_step"] is True
    detach, no_grad = results["cost"]["detach"], results["cost"]["no_grad"]
    # The detached fake keeps G's graph alive (for the G step); the no_grad fake holds nothing.
    assert detach["generator_graph_bytes"] > 0
    assert no_grad["generator_graph_bytes"] == 0
    assert detach["graph_bytes"] - no_grad["graph_bytes"] == detach["generator_graph_bytes"]
    assert detach["graph_nodes"] > no_grad["graph_nodes"]
    assert detach["d_step_ms"] > 0 and no_grad["d_step_ms"] > 0
    assert len(results["cost"]) == 2 and results["variant"] == variant


def test_gan_learns_the_ring_scale(tmp_path):
    # Untrained, G's samples sit near the origin; a few hundred steps put them on the ring.
    # (Covering all 8 modes takes thousands of steps: the full run, not a test.)
    untrained = run(gan, tmp_path, "--steps", "0")
    trained = run(gan, tmp_path, "--steps", "400")
    assert untrained["mean_radius"] < 1.0
    assert abs(trained["mean_radius"] - gan.RADIUS) < 0.4


def torch_copy(module_gg):
    """The same MLP in torch holding glassgrad's weights."""
    layers = [
        torch.nn.Linear(m.in_features, m.out_features) for m in module_gg if hasattr(m, "weight")
    ]
    model = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2])
    model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in module_gg.state_dict().items()})
    return model


@pytest.mark.parametrize("variant", ["detach", "no_grad"])
def test_gan_d_gradients_match_torch(variant):
    glassgrad.manual_seed(3)
    G, D = gan.mlp(2, 2), gan.mlp(2, 1)
    real, z = gan.sample_ring(32), glassgrad.randn(32, 2)
    bce = glassgrad.nn.BCEWithLogitsLoss()
    loss, grads, g_untouched = gan.d_gradients(G, D, bce, real, z, variant)
    assert g_untouched and all(p.grad is None for p in D.parameters())

    tG, tD = torch_copy(G), torch_copy(D)
    treal, tz = torch.tensor(real.numpy()), torch.tensor(z.numpy())
    tbce = torch.nn.BCEWithLogitsLoss()
    tloss = tbce(tD(treal), torch.ones(32, 1)) + tbce(tD(tG(tz).detach()), torch.zeros(32, 1))
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)
    for ours, theirs in zip(grads, tD.parameters(), strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_gan_compare_notices_different_gradients():
    glassgrad.manual_seed(4)
    G, D = gan.mlp(2, 2), gan.mlp(2, 1)
    bce = glassgrad.nn.BCEWithLogitsLoss()
    real, z = gan.sample_ring(16), glassgrad.randn(16, 2)
    assert gan.compare_variants(G, D, bce, real, z)["identical"] is True
    other = gan.sample_ring(16)
    _, grads_a, _ = gan.d_gradients(G, D, bce, real, z, "detach")
    _, grads_b, _ = gan.d_gradients(G, D, bce, other, z, "no_grad")
    assert not all(glassgrad.equal(a, b) for a, b in zip(grads_a, grads_b, strict=True))


# -- fine-tuning ----------------------------------------------------------------------------
def test_finetune_frozen_module_unchanged_and_gradients_pass_through(tmp_path):
    results = run(finetune, tmp_path, "--steps", "30")
    assert results["frozen_unchanged"] is True
    assert results["module1_grads_nonzero"] is True
    assert results["module2_grads_none"] is True
    # The trap: frozen parameters stay, BatchNorm's running statistics in train mode do not.
    assert set(results["trap_changed"]) == {
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    }
    assert results["trap_parameters_unchanged"] is True
    assert results["audit"] == []
    assert len(results["trap_audit"]) == 3
    assert all(line.startswith("buffer 1.") for line in results["trap_audit"])


def test_finetune_learns_both_tasks(tmp_path):
    results = run(finetune, tmp_path, "--steps", "300")
    assert results["task_a_accuracy"] > 0.6  # four classes: chance is 0.25
    assert results["task_b_accuracy"] > 0.6  # three classes: chance is 0.33


# -- digits ---------------------------------------------------------------------------------
EPOCHS = 4


def torch_digits_accuracy(seed: int = 0) -> float:
    """The same network, data split and training loop in PyTorch."""
    torch.manual_seed(seed)
    x_train, x_test, y_train, y_test = (torch.from_numpy(a) for a in digits.load_data(seed))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_train, y_train), batch_size=32, shuffle=True
    )
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        for images, labels in loader:
            loss = loss_fn(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return (model(x_test).argmax(dim=1) == y_test).float().mean().item()


def test_digits_accuracy_close_to_torch(tmp_path):
    results = run(digits, tmp_path, "--epochs", str(EPOCHS))
    theirs = torch_digits_accuracy()
    assert results["epochs"] == EPOCHS and len(results["train_loss"]) == EPOCHS
    assert results["train_loss"][-1] < results["train_loss"][0]
    assert results["test_accuracy"] > 0.9
    assert theirs > 0.9
    assert abs(results["test_accuracy"] - theirs) < 0.05


def test_digits_data_split_and_network_shapes():
    x_train, x_test, y_train, y_test = digits.load_data()
    assert x_train.shape[1:] == (1, 8, 8) and x_train.dtype == np.float32
    assert len(x_train) + len(x_test) == 1797 and 0 <= x_train.min() and x_train.max() <= 1
    assert set(y_test.tolist()) == set(range(10))
    out = digits.build()(glassgrad.from_numpy(x_test[:5]))
    assert tuple(out.shape) == (5, 10)


# -- as scripts -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "script, args",
    [
        ("gan.py", ["--steps", "3"]),
        ("finetune.py", ["--steps", "3"]),
        ("digits.py", ["--epochs", "1"]),
    ],
)
def test_scripts_run_from_the_command_line(script, args, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "figure:" in completed.stdout
    assert (tmp_path / script.replace(".py", ".png")).is_file()
