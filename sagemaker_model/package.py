"""`make model`: build build/model.tar.gz for the SageMaker PyTorch toolkit, verify it, optionally upload it to S3.

Layout: model.pt at the root, code/inference.py and code/warmup.wav, and nothing to install: the archive carries
no code/requirements.txt, which the framework toolkit would pip-install into the image's site-packages at every
container start (a serverless container may not write there, and /ping then fails; an inf1 container may have
no route to PyPI). The handler imports only the standard library and what every target image has (numpy,
scipy, torch; torch_neuron on inf1); verify_archive checks that statically. With --neuron-model-file,
model.pt is the Neuron-compiled model (inf1) and model.cpu.pt the CPU TorchScript it was traced from (the
serverless CPU fallback): one archive serves both, the handler picks by target.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from sagemaker_model.model_server import (
    CODE_SOURCES,
    CPU_MODEL_FILE,
    HANDLER_SOURCE,
    MODEL_FILE,
    REPO_ROOT,
    WARMUP_WAV,
    silero_jit_path,
)

BUILD_DIR = REPO_ROOT / "build"
DEFAULT_ARCHIVE = BUILD_DIR / "model.tar.gz"
# What every target image has (docs/aws-behaviour.md §6: the last inf1 DLC, pytorch-inference-neuron 1.13.1 py310,
# has torch-neuron, numpy 1.24 and scipy 1.10; the CPU pytorch-inference DLCs have torch, numpy and scipy).
# The handler may import these, the standard library and its own modules in code/, nothing else.
IMAGE_PROVIDED = frozenset({"numpy", "scipy", "torch", "torch_neuron"})
# Files the archive's code/ may hold besides the handler's modules.
CODE_DATA = frozenset({"code/warmup.wav"})


class ArchiveError(Exception):
    """The archive does not satisfy the layout or the nothing-to-install contract."""


def handler_imports(source: str) -> set[str]:
    """Top-level modules the handler needs: every import, except one inside a `try` whose handler catches
    ImportError (an optional import the handler works without)."""
    tree = ast.parse(source)
    optional: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            optional |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    needed: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            needed |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            needed.add(node.module.split(".")[0])
    return needed - {"__future__"}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names)


def unavailable_imports(files: dict[str, bytes]) -> dict[str, set[str]]:
    """Per handler module in code/: what it imports that is neither the standard library, nor in every image,
    nor another module of code/."""
    modules = {Path(n).stem for n in files if n.startswith("code/") and n.endswith(".py")}
    allowed = set(sys.stdlib_module_names) | IMAGE_PROVIDED | modules
    out = {}
    for name, data in files.items():
        if name.startswith("code/") and name.endswith(".py"):
            missing = handler_imports(data.decode("utf-8")) - allowed
            if missing:
                out[name] = missing
    return out


def stage(staging: Path, model_file: Path, neuron_model_file: Path | None = None) -> Path:
    if staging.exists():
        shutil.rmtree(staging)
    code = staging / "code"
    code.mkdir(parents=True)
    if neuron_model_file is not None:
        shutil.copyfile(neuron_model_file, staging / MODEL_FILE)
        shutil.copyfile(model_file, staging / CPU_MODEL_FILE)
    else:
        shutil.copyfile(model_file, staging / MODEL_FILE)
    for source in CODE_SOURCES:
        shutil.copyfile(source, code / source.name)
    shutil.copyfile(WARMUP_WAV, code / "warmup.wav")
    return staging


def write_archive(staging: Path, archive: Path) -> None:
    """tar from inside the folder, sorted, fixed owners and mtimes: the same inputs give the same bytes."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in staging.rglob("*"))
    tmp = archive.with_name(archive.name + ".tmp")
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in files:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(staging).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            info.mode = 0o755 if path.is_dir() else 0o644
            if path.is_dir():
                tar.addfile(info)
            else:
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
    tmp.replace(archive)


def verify_archive(archive: Path, handler_source: Path = HANDLER_SOURCE) -> list[str]:
    """Check the layout and that the archive installs nothing at container start; return the listing.
    Raises ArchiveError."""
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        files = {m.name: tar.extractfile(m).read() for m in members if m.isfile()}  # type: ignore[union-attr]
    listing = [f"{m.size:>10}  {m.name}" for m in members if m.isfile()]
    for name in names:
        if name.startswith(("/", "./")) or ".." in Path(name).parts:
            raise ArchiveError(f"bad member path {name!r}: members must be relative to the archive root")
    for required in (MODEL_FILE, "code/inference.py"):
        if not files.get(required):
            raise ArchiveError(f"{required} missing or empty in {archive}")
    if "code/requirements.txt" in files:
        raise ArchiveError(
            "code/requirements.txt: the toolkit pip-installs it into site-packages at every container start "
            "(a serverless container may not write there and fails /ping; inf1 may have no route to PyPI)"
        )
    extra = sorted(n for n in files if n.startswith("code/") and not n.endswith(".py") and n not in CODE_DATA)
    if extra:
        raise ArchiveError(f"code/ holds files the handler does not use (nothing is installed from it): {extra}")
    for module, missing in sorted(unavailable_imports(files).items()):
        raise ArchiveError(
            f"{module} imports {sorted(missing)}, which no target image has: keep the handler to the standard "
            f"library, {sorted(IMAGE_PROVIDED)} and its own modules in code/ (or make the import optional)"
        )
    sources = {f"code/{s.name}": s for s in CODE_SOURCES} | {"code/inference.py": handler_source}
    for name, source in sorted(sources.items()):
        if files.get(name) != source.read_bytes():
            raise ArchiveError(f"{name} differs from sagemaker_model/code/{source.name} (or is missing)")
    stray = sorted(n for n in files if n.startswith("code/") and n.endswith(".py") and n not in sources)
    if stray:
        raise ArchiveError(f"code/ holds modules that are not the handler's: {stray}")
    return listing


def smoke_test(archive: Path) -> str:
    """Extract the archive and serve one request from it with the CPU handler (skipped for Neuron models)."""
    from sagemaker_model.model_server import ModelServer

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        server = ModelServer(Path(tmp))
        try:
            result = server.invoke((Path(tmp) / "code" / "warmup.wav").read_bytes(), "audio/wav")
        finally:
            server.close()
    if result.status != 200:
        raise ArchiveError(f"smoke test: warm-up WAV answered {result.status}: {result.error}")
    return result.body.decode()[:200]


def upload(archive: Path, s3_uri: str) -> str:
    """Upload under a content hash, so each build gets its own URI (a SageMaker Model is immutable)."""
    import boto3

    if not s3_uri.startswith("s3://"):
        raise ValueError(f"expected s3://bucket/prefix, got {s3_uri!r}")
    bucket, _, prefix = s3_uri[5:].partition("/")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:12]
    key = f"{prefix.strip('/')}/model-{digest}.tar.gz".lstrip("/")
    boto3.client("s3").upload_file(str(archive), bucket, key)
    return f"s3://{bucket}/{key}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument(
        "--model-file", type=Path, default=None, help="CPU TorchScript model to ship (default: silero-vad)"
    )
    parser.add_argument(
        "--neuron-model-file",
        type=Path,
        default=None,
        help="its Neuron-compiled trace (make compile-neuron): shipped as model.pt, the CPU model as model.cpu.pt",
    )
    parser.add_argument("--s3-uri", default="", help="s3://bucket/prefix to upload to (optional)")
    parser.add_argument("--no-smoke-test", action="store_true", help="skip serving one request from the archive")
    args = parser.parse_args(argv)

    model_file = args.model_file or silero_jit_path()
    for given in (args.model_file, args.neuron_model_file):
        if given is not None and not given.is_file():
            parser.error(f"{given}: no such file")
    staging = args.out.parent / "model-archive"
    stage(staging, model_file, args.neuron_model_file)
    write_archive(staging, args.out)
    try:
        listing = verify_archive(args.out)
    except ArchiveError as exc:
        print(f"model: archive check FAILED: {exc}", file=sys.stderr)
        return 1
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"model: {args.out.relative_to(REPO_ROOT) if args.out.is_relative_to(REPO_ROOT) else args.out}")
    print(f"model: sha256 {digest}  ({args.out.stat().st_size} bytes)")
    print("\n".join(listing))
    print("model: layout OK; nothing to install at container start (no code/requirements.txt)")
    if not args.no_smoke_test and args.model_file is None:  # the CPU handler serves model.cpu.pt when present
        print(f"model: smoke test (extracted archive, one request): {smoke_test(args.out)[:120]}...")
    if args.s3_uri:
        uri = upload(args.out, args.s3_uri)
        print(f"model: uploaded {uri}")
        print(f"model: sam deploy --parameter-overrides ModelDataUrl={uri}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
