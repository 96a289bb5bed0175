"""A whole training script (conv, batch norm, pooling, SGD, a scheduler) matches PyTorch, and its
state_dict round-trips through ``glassgrad.save``/``load``."""

from __future__ import annotations

import numpy as np
import torch

import glassgrad


def _train(lib, init):
    """Train a small conv net one epoch through DataLoader, Adam and StepLR; evaluate."""
    nn = lib.nn
    data = lib.utils.data
    rng = np.random.default_rng(0)
    inputs = lib.tensor(rng.standard_normal((32, 1, 8, 8)).astype(np.float32))
    labels = lib.tensor(rng.integers(0, 3, 32))
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 3),
    )
    model.load_state_dict({key: lib.tensor(value) for key, value in init.items()})
    opt = lib.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    loader = data.DataLoader(data.TensorDataset(inputs, labels), batch_size=8)
    for batch, target in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(batch), target).backward()
        opt.step()
    sched.step()
    model.eval()
    with lib.no_grad():
        logits = model(inputs)
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return logits.numpy(), accuracy, sched.get_last_lr(), str(model), model.state_dict()


def test_training_script_matches_torch_and_round_trips_state_dict(tmp_path):
    torch.manual_seed(0)
    init = {
        key: value.numpy().copy()
        for key, value in torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1),
            torch.nn.BatchNorm2d(4),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(64, 3),
        )
        .state_dict()
        .items()
    }
    expected = _train(torch, init)
    actual = _train(glassgrad, init)
    np.testing.assert_allclose(actual[0], expected[0], rtol=1e-4, atol=1e-5)
    assert actual[1:4] == expected[1:4]
    path = tmp_path / "model.pt"
    glassgrad.save(actual[4], path)
    loaded = glassgrad.load(path)
    assert list(loaded) == list(expected[4])
    for key, value in expected[4].items():
        np.testing.assert_allclose(loaded[key].numpy(), value.numpy(), rtol=1e-4, atol=1e-5)
