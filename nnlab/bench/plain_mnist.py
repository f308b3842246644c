"""The handout's plain PyTorch MNIST script: the whole-job baseline of `python -m nnlab bench --whole-job`.

Run it by path (`python nnlab/plain_mnist.py --root DATA --out DIR`); it imports no nnlab code. It is what
a practitioner writes from the course handout and pytorch/examples' mnist/main.py: torchvision's MNIST read
from its folder with ToTensor and Normalize per sample, DataLoader(batch 64, shuffle), nnlab's default MLP
written out (784-256-128-64-10, ReLU, dropout 0.2), Adam(lr 1e-3), a test pass after every epoch, then the
test report (scikit-learn's classification report and confusion matrix) and the weights written to --out.
It prints one JSON line last: test accuracy and seconds.
"""

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.metrics import classification_report, confusion_matrix
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def build_model() -> nn.Module:
    """784 -> 256 -> 128 -> 64 -> 10, ReLU and dropout 0.2 after each hidden layer."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = 28 * 28
    for size in (256, 128, 64):
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(0.2)]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, 10))


def train(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, epoch: int) -> None:
    """One epoch over the training set; prints the mean loss."""
    model.train()
    running = 0.0
    for data, target in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        running += loss.item()
    print(f"epoch {epoch}  train loss {running / len(loader):.4f}")


@torch.no_grad()
def test(model: nn.Module, loader: DataLoader) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels of the test set; prints the loss and accuracy."""
    model.eval()
    loss, preds, targets = 0.0, [], []
    for data, target in loader:
        output = model(data)
        loss += F.cross_entropy(output, target, reduction="sum").item()
        preds.append(output.argmax(1))
        targets.append(target)
    pred, true = torch.cat(preds), torch.cat(targets)
    print(f"test loss {loss / len(true):.4f}  accuracy {(pred == true).float().mean():.4f}")
    return pred, true


def main() -> None:
    """Load, train, test after every epoch, write the report and the weights."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="torchvision's root: the folder holding MNIST/raw")
    p.add_argument("--out", required=True, help="where the report and the weights go")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST(args.root, train=True, download=False, transform=transform)
    test_set = datasets.MNIST(args.root, train=False, download=False, transform=transform)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        train(model, train_loader, optimizer, epoch)
        pred, true = test(model, test_loader)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = classification_report(true, pred, output_dict=True, zero_division=0)
    report["confusion"] = confusion_matrix(true, pred).tolist()
    (out / "report.json").write_text(json.dumps(report))
    torch.save(model.state_dict(), out / "mnist_mlp.pt")
    summary = {"test_accuracy": report["accuracy"], "seconds": time.perf_counter() - start}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
