"""The strongest plain PyTorch MNIST script a practitioner writes: the whole-job baseline of `nnlab bench --whole-job`.

Run it by path (`python nnlab/bench/plain_mnist_tensors.py --root DATA --out DIR`); it imports no nnlab code. Unlike
the handout's script (plain_mnist.py: torchvision's per-sample ToTensor and Normalize), it reads the IDX files
once into tensors and normalises them up front, then trains with DataLoader(TensorDataset(x, y), batch 64,
shuffle); it holds out 10% of the training images for validation, as nnlab does, and validates after every
epoch; the model is nnlab's default MLP written out (784-256-128-64-10, ReLU, dropout 0.2) with Adam(lr 1e-3);
at the end the test report (scikit-learn's classification report and confusion matrix) and the weights are
written to --out. It prints one JSON line last: test accuracy and seconds.
"""

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import classification_report, confusion_matrix
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (or its .gz) as a numpy array: a magic number, the sizes, then the bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(raw: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as normalised floats (N, 784) and labels, read once."""
    name = lambda kind: next(p for p in (raw / kind, raw / f"{kind}.gz") if p.exists())  # noqa: E731
    x = read_idx(name(f"{prefix}-images-idx3-ubyte")).reshape(-1, 28 * 28)
    y = read_idx(name(f"{prefix}-labels-idx1-ubyte"))
    x = (torch.from_numpy(x.astype(np.float32)) / 255 - 0.1307) / 0.3081
    return x, torch.from_numpy(y.astype(np.int64))


def build_model() -> nn.Module:
    """784 -> 256 -> 128 -> 64 -> 10, ReLU and dropout 0.2 after each hidden layer."""
    layers: list[nn.Module] = []
    width = 28 * 28
    for size in (256, 128, 64):
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(0.2)]
        width = size
    return nn.Sequential(*layers, nn.Linear(width, 10))


def train(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer) -> float:
    """One epoch; the mean training loss."""
    model.train()
    running = 0.0
    for data, target in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), target)
        loss.backward()
        optimizer.step()
        running += loss.item()
    return running / len(loader)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Mean loss, predicted and true labels."""
    model.eval()
    loss, preds, targets = 0.0, [], []
    for data, target in loader:
        output = model(data)
        loss += F.cross_entropy(output, target, reduction="sum").item()
        preds.append(output.argmax(1))
        targets.append(target)
    pred, true = torch.cat(preds), torch.cat(targets)
    return loss / len(true), pred, true


def main() -> None:
    """Load once, train with validation after every epoch, then test and write the report and the weights."""
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
    raw = Path(args.root) / "MNIST" / "raw"
    x, y = load(raw, "train")
    x_test, y_test = load(raw, "t10k")
    order = torch.randperm(len(y))
    val, tr = order[: len(y) // 10], order[len(y) // 10 :]
    train_loader = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(TensorDataset(x[val], y[val]), batch_size=1000)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        loss = train(model, train_loader, optimizer)
        val_loss, pred, true = evaluate(model, val_loader)
        print(
            f"epoch {epoch}  train loss {loss:.4f}  val loss {val_loss:.4f}  val acc {(pred == true).float().mean():.4f}"
        )
    _, pred, true = evaluate(model, test_loader)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = classification_report(true, pred, output_dict=True, zero_division=0)
    report["confusion"] = confusion_matrix(true, pred).tolist()
    (out / "report.json").write_text(json.dumps(report))
    torch.save(model.state_dict(), out / "mnist_mlp.pt")
    print(json.dumps({"test_accuracy": report["accuracy"], "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
