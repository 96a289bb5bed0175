"""Real-model shapes for the glass tests, built locally from either library (no downloads).

``build(torch)`` returns the classes written against ``torch`` (glassgrad or PyTorch), so the same
program can run on both: a small CNN with a ``no_grad`` stem and a frozen BatchNorm weight, a
ResNet-18 (torchvision's layout, narrow channels) and a small Transformer with tied weights.
"""

from __future__ import annotations

from types import SimpleNamespace


def build(torch):
    nn = torch.nn

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
            self.features = nn.Sequential(nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
            self.head = nn.Linear(8, 2)
            self.features[1].weight.requires_grad_(False)

        def forward(self, x):
            with torch.no_grad():
                h = self.stem(x)
            h = self.features(h)
            return self.head(h.mean((2, 3)))

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet18(nn.Module):
        def __init__(self, width=4, classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            cin = width
            for i, cout in enumerate([width, 2 * width, 4 * width, 8 * width]):
                blocks = [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout)]
                setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
                cin = cout
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    class TinyTransformer(nn.Module):
        def __init__(self, vocab=50, dim=16):
            super().__init__()
            self.embed = nn.Embedding(vocab, dim)
            layer = nn.TransformerEncoderLayer(dim, 2, 32, dropout=0.0, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.lm_head = nn.Linear(dim, vocab, bias=False)
            self.lm_head.weight = self.embed.weight  # tied, as nanoGPT's lm_head and wte

        def forward(self, idx):
            return self.lm_head(self.encoder(self.embed(idx)))

    return SimpleNamespace(
        SmallCNN=SmallCNN, BasicBlock=BasicBlock, ResNet18=ResNet18, TinyTransformer=TinyTransformer
    )
