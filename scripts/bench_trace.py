"""Step time of a training loop with and without the tracer (nnlint.trace.watch).

    python scripts/bench_trace.py [--rounds 3] [--steps 5] [--threads N] [--device cpu|cuda]
                                  [--models tiny,mlp,cnn,transformer]

Prints, per model, the median step time untraced and traced, and their ratio (and the ratio
of the fastest steps, which shrugs off a busy machine). The traced
steps include everything the tracer does during a run (hooks, checksums, update ratios),
so the ratio is the price of `nnlint trace`. The goal: under 1.5x for models of
realistic size; `tiny` shows the fixed per-call cost where there is almost no compute.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import nnlint.trace  # noqa: E402


def tiny() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)), torch.randn(8, 16), torch.randint(0, 4, (8,))


def mlp() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    model = nn.Sequential(
        nn.Linear(784, 1024), nn.BatchNorm1d(1024), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(1024, 1024), nn.BatchNorm1d(1024), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(1024, 10),
    )
    return model, torch.randn(256, 784), torch.randint(0, 10, (256,))


def _block(cin: int, cout: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def cnn() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    model = nn.Sequential(
        _block(3, 32), _block(32, 32), nn.MaxPool2d(2),
        _block(32, 64), _block(64, 64), nn.MaxPool2d(2),
        _block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(128, 10),
    )
    return model, torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))


class _Transformer(nn.Module):
    def __init__(self, vocab: int = 1000, width: int = 256, layers: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        layer = nn.TransformerEncoderLayer(width, 4, 4 * width, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(tokens))).transpose(1, 2)


def transformer() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    return _Transformer(), torch.randint(0, 1000, (16, 64)), torch.randint(0, 1000, (16, 64))


MODELS: dict[str, Callable[[], tuple[nn.Module, torch.Tensor, torch.Tensor]]] = {
    "tiny": tiny, "mlp": mlp, "cnn": cnn, "transformer": transformer,
}


def _step_times(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, steps: int) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if inputs.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def measure(name: str, rounds: int, steps: int, device: str) -> tuple[list[float], list[float]]:
    """Step times untraced and traced, in alternating rounds so that both see the same machine."""
    torch.manual_seed(0)
    model, inputs, targets = MODELS[name]()
    model, inputs, targets = model.to(device), inputs.to(device), targets.to(device)
    _step_times(model, inputs, targets, 3)  # warm up
    plain: list[float] = []
    traced: list[float] = []
    for _ in range(rounds):
        plain += _step_times(model, inputs, targets, steps)
        with nnlint.trace.watch() as trace:
            traced += _step_times(model, inputs, targets, steps)
        if trace.internal_errors:
            raise SystemExit(f"tracer errors: {trace.internal_errors}")
    return plain, traced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating untraced/traced rounds")
    parser.add_argument("--steps", type=int, default=5, help="steps per round (a trace measures all its steps)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
          f"{args.rounds} rounds of {args.steps} steps")
    print(f"{'model':<12} {'untraced ms':>12} {'traced ms':>10} {'ratio':>6}   (median step; min-step ratio)")
    for name in args.models.split(","):
        plain, traced = measure(name, args.rounds, args.steps, args.device)
        ratio = statistics.median(traced) / statistics.median(plain)
        print(f"{name:<12} {statistics.median(plain) * 1e3:>12.2f} {statistics.median(traced) * 1e3:>10.2f} "
              f"{ratio:>6.2f}   ({min(traced) / min(plain):.2f})")


if __name__ == "__main__":
    main()
