"""A small CNN on scikit-learn's 8x8 handwritten digits, written as PyTorch code.

Conv2d-ReLU-MaxPool2d-Conv2d-ReLU-Flatten-Linear, Adam, a shuffled DataLoader; the data ships
with scikit-learn (no download). Prints the test accuracy and draws test digits with predictions.

    python examples/digits.py                 # digits.png in the working directory
    python examples/digits.py --epochs 2 --out figures
"""

from __future__ import annotations

import numpy as np
from _common import parser, plt, progress, save_figure, say
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import glassgrad as torch
import glassgrad.nn as nn
from glassgrad.utils.data import DataLoader, TensorDataset


def load_data(seed: int = 0):
    """Images scaled to [0, 1] as float32 (N, 1, 8, 8) and int64 labels: train/test NumPy arrays."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    return train_test_split(
        images, digits.target.astype(np.int64), test_size=0.25, random_state=seed
    )


def build():
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )


def evaluate(model, x, y) -> tuple[float, object]:
    model.eval()
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    model.train()
    return (predicted == y).float().mean().item(), predicted


def main(argv=None) -> dict:
    """Train the CNN for ``--epochs`` epochs and report the test accuracy."""
    args = parser(__doc__.splitlines()[0], epochs=5).parse_args(argv)
    torch.manual_seed(args.seed)
    x_train, x_test, y_train, y_test = (torch.from_numpy(a) for a in load_data(args.seed))
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(args.epochs):
        total = 0.0
        for images, labels in progress(loader, args, desc=f"epoch {epoch + 1}/{args.epochs}"):
            loss = loss_fn(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        history.append(total / len(x_train))
    accuracy, predicted = evaluate(model, x_test, y_test)
    results = {
        "epochs": args.epochs,
        "train_loss": history,
        "test_accuracy": accuracy,
        "figure": figure(x_test, y_test, predicted, accuracy, args),
    }
    say(args, f"test accuracy after {args.epochs} epochs: {100 * accuracy:.1f}%")
    say(args, f"figure: {results['figure']}")
    return results


def figure(x_test, y_test, predicted, accuracy, args) -> str:
    fig, axes = plt.subplots(3, 8, figsize=(10, 4.4))
    # Mistakes first: they are the interesting ones.
    shown = torch.from_numpy((predicted == y_test).numpy().argsort(kind="stable")[: axes.size])
    picked = zip(axes.flat, x_test[shown], y_test[shown], predicted[shown], strict=True)
    for ax, image, label, guess in picked:
        ax.imshow(image[0].numpy(), cmap="gray_r")
        colour = "tab:green" if guess.item() == label.item() else "tab:red"
        ax.set_title(f"{guess.item()} (true {label.item()})", fontsize=8, color=colour)
        ax.axis("off")
    fig.suptitle(f"test digits with predictions: {100 * accuracy:.1f}% correct")
    return save_figure(fig, args, "digits.png")


if __name__ == "__main__":
    main()
