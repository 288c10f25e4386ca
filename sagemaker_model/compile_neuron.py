"""`make compile-neuron MODEL_FILE=...`: trace a TorchScript model for Inferentia (inf1) with torch.neuron.trace.

The trace fixes the input shape to [1, CHUNK_SAMPLES] float32 at SAMPLE_RATE: exactly the chunks inference.py
feeds the model (it zero-pads the last one). Runs only where the real torch-neuron is installed (an inf1 host or
the Neuron DLC); PyPI's torch-neuron is a placeholder that fails at import.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

HANDLER = Path(__file__).resolve().parent / "code" / "sleepwake_model.py"  # the handler's model module
EXIT_NO_NEURON = 3


def handler_contract() -> dict[str, int]:
    """CHUNK_SAMPLES and SAMPLE_RATE read from the handler itself, so the two can never disagree."""
    import ast

    wanted = {"CHUNK_SAMPLES", "SAMPLE_RATE"}
    values: dict[str, int] = {}
    for node in ast.parse(HANDLER.read_text()).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in wanted:
            values[target.id] = int(ast.literal_eval(node.value))
    missing = wanted - values.keys()
    if missing:
        raise RuntimeError(f"{HANDLER} does not define {sorted(missing)}")
    return values


def example_shape() -> tuple[int, int]:
    return (1, handler_contract()["CHUNK_SAMPLES"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="compile_neuron", description=__doc__)
    parser.add_argument("model", type=Path, help="TorchScript model (torch.jit.save) taking float32 [1, CHUNK_SAMPLES]")
    parser.add_argument("--output", type=Path, default=Path("build/neuron/model.pt"), help="where to save model.pt")
    parser.add_argument(
        "--compiler-args",
        default="",
        help='extra neuron-cc arguments, e.g. "--fast-math none" (split on spaces)',
    )
    parser.add_argument("--dry-run", action="store_true", help="check the arguments and print the contract only")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"model file {args.model} does not exist")
    if args.output.suffix != ".pt":
        parser.error(f"--output must end in .pt (the handler loads model.pt), got {args.output}")
    if args.output.resolve() == args.model.resolve():
        parser.error("--output would overwrite the input model")
    return args


def import_neuron() -> ModuleType | None:
    """torch_neuron if it really works here, else None (absent, or PyPI's placeholder that raises)."""
    if importlib.util.find_spec("torch_neuron") is None:
        return None
    try:
        import torch_neuron
    except Exception:  # the placeholder package raises at import
        return None
    return torch_neuron


def compile_model(args: argparse.Namespace, neuron: Any) -> Path:
    import torch

    model = torch.jit.load(str(args.model), map_location="cpu").eval()
    example = torch.zeros(example_shape(), dtype=torch.float32)
    with torch.no_grad():
        reference = model(example)
        compiler_args = args.compiler_args.split() if args.compiler_args else None
        traced = neuron.trace(model, example_inputs=[example], compiler_args=compiler_args)
        check = traced(example)
    if tuple(check.shape) != tuple(reference.shape):
        raise RuntimeError(f"Neuron output shape {tuple(check.shape)} != CPU output shape {tuple(reference.shape)}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    traced.save(str(args.output))
    return args.output


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    contract = {**handler_contract(), "input_shape": list(example_shape()), "dtype": "float32"}
    print(f"compile_neuron: input contract {json.dumps(contract)}")
    if args.dry_run:
        return 0
    neuron_module = import_neuron()
    if neuron_module is None:
        print(
            "compile_neuron: torch-neuron is not installed here (PyPI only has a placeholder). Run this on an inf1 "
            "host or inside the pytorch-inference-neuron DLC, with torch-neuron and neuron-cc from the AWS Neuron "
            "repository (https://pip.repos.neuron.amazonaws.com).",
            file=sys.stderr,
        )
        return EXIT_NO_NEURON
    import torch

    out = compile_model(args, torch.neuron)  # type: ignore[attr-defined]
    print(f"compile_neuron: saved {out}; ship it with `make model MODEL_FILE={out}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
