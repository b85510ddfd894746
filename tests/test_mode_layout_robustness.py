"""The mode, layout and guard facts survive every statement form, and stay silent on code
that only looks like training or evaluation."""

from __future__ import annotations

import json

from helpers import run_nnlint

RULES = "NN401,NN402,NN403,NN501,NN701,NN702"

EVERY_FORM = '''
import torch
import torch.nn.functional as F


async def serve(model, requests):
    async with requests as stream:
        async for item in stream:
            with torch.no_grad():
                yield model(item)


def dispatch(model, command, loader, optimizer):
    match command:
        case {"action": "eval"}:
            model.eval()
        case ["train", *rest] if rest:
            model.train()
        case _:
            pass
    while (batch := next(loader, None)) is not None:
        try:
            optimizer.zero_grad()
            F.mse_loss(model(batch), batch).backward()
            optimizer.step()
        except* ValueError:
            continue
        finally:
            del batch
    b, c, *rest = (lambda t: t.shape)(torch.zeros(1, 2, 3))
    shapes = {k: v.view(v.size(0), -1) for k, v in {}.items()}
    global counter
    return [m(x) for m in (model,) for x in loader if (y := x)]


class Weird(torch.nn.Module):
    def forward(self, x, *args, **kwargs):
        nonlocal_value = lambda: F.dropout(x, training=self.training)
        return nonlocal_value()
'''


def _codes(source: str) -> list[str]:
    result = run_nnlint("--output-format", "json", "--select", f"NN000,{RULES}", "-", stdin=source.encode())
    assert result.returncode in (0, 1), result.stderr.decode()
    return [finding["code"] for finding in json.loads(result.stdout)]


def test_every_statement_form_is_analysed_without_internal_errors() -> None:
    assert "NN000" not in _codes(EVERY_FORM)


def test_recursive_helpers_terminate_and_are_still_judged() -> None:
    source = '''
import torch


def ping(model, depth):
    with torch.no_grad():
        model(depth)
    return pong(model, depth - 1)


def pong(model, depth):
    model.eval()
    return ping(model, depth)


def main():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout())
    ping(model, 10)
'''
    assert _codes(source) == ["NN401"]  # the first call, before pong() ever runs


NESTED_VIEWS = '''\
import torch


def build_tokens():
    class Tokens(torch.nn.Module):
        def forward(self, feature_map):
            b, c, h, w = feature_map.shape
            return feature_map.view(b, h * w, c)

    return Tokens


def build_flatten():
    def flatten(feature_map):
        def inner(x):
            b, c, h, w = x.shape
            return torch.reshape(x, (b, h * w, c))
        return inner(feature_map)

    return flatten
'''


def test_views_nested_in_functions_and_their_classes_are_judged() -> None:
    result = run_nnlint("--select", "NN501", "-", stdin=NESTED_VIEWS.encode())
    lines = [int(line.split(":")[1]) for line in result.stdout.decode().splitlines()]
    assert lines == [8, 17]
