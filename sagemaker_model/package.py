"""`make model`: build build/model.tar.gz for the SageMaker PyTorch toolkit, verify it, optionally upload it to S3.

Layout: model.pt at the root, code/inference.py, code/warmup.wav, code/requirements.txt and code/wheels/*.whl
(cp310 manylinux wheels so the container's start-up `pip install` never needs the internet). With
--neuron-model-file, model.pt is the Neuron-compiled model (inf1) and model.cpu.pt the CPU TorchScript it was
traced from (the serverless CPU fallback): one archive serves both, the handler picks by target.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from sagemaker_model.local import (
    CODE_DIR,
    CPU_MODEL_FILE,
    HANDLER_SOURCE,
    MODEL_FILE,
    REPO_ROOT,
    WARMUP_WAV,
    silero_jit_path,
)

BUILD_DIR = REPO_ROOT / "build"
DEFAULT_ARCHIVE = BUILD_DIR / "model.tar.gz"
WHEEL_CACHE = BUILD_DIR / "wheel-cache"
REQUIREMENTS = CODE_DIR / "requirements.txt"
# What the last inf1 DLC (pytorch-inference-neuron 1.13.1, py310) already has; never shipped (docs/aws-behaviour.md §6).
CONTAINER_PROVIDED = frozenset({"numpy", "scipy", "torch", "torch-neuron", "typing-extensions"})
# Shipped but not listed: pip takes them from code/wheels only if the container lacks them.
FALLBACK_WHEELS = ("typing-extensions==4.16.0",)
TARGET_PYTHON = "3.10"
TARGET_GLIBC = (2, 31)  # Ubuntu 20.04, the DLC's base
TARGET_PLATFORMS = (
    "manylinux_2_31_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
)
MARKER_ENV = {
    "python_version": TARGET_PYTHON,
    "python_full_version": "3.10.12",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}


class ArchiveError(Exception):
    """The archive does not satisfy the layout or offline-install contract."""


@dataclass
class Requirements:
    options: list[str] = field(default_factory=list)
    pins: list[Requirement] = field(default_factory=list)


def parse_requirements(text: str) -> Requirements:
    reqs = Requirements()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            reqs.options.append(line)
        else:
            reqs.pins.append(Requirement(line))
    return reqs


def _pinned_version(req: Requirement) -> str:
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==":
        raise ArchiveError(f"requirement {req} must be pinned with == (offline install, reproducible)")
    return specs[0].version


def wheel_fits_target(filename: str) -> bool:
    """True if pip on CPython 3.10 / glibc 2.31 / x86_64 accepts this wheel."""
    _, _, _, tags = parse_wheel_filename(filename)
    for tag in tags:
        if tag.interpreter not in ("py3", "py310", "cp310") and not tag.interpreter.startswith("py3"):
            continue
        if tag.abi not in ("none", "abi3", "cp310"):
            continue
        if tag.platform == "any":
            return True
        if tag.platform.endswith("_x86_64"):
            if tag.platform in ("manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64"):
                return True
            if tag.platform.startswith("manylinux_"):
                major, minor = (int(x) for x in tag.platform.split("_")[1:3])
                if (major, minor) <= TARGET_GLIBC:
                    return True
    return False


def download_wheels(specs: list[str], dest: Path) -> None:
    """pip download the cp310 manylinux wheels for exactly these pins (no deps: those are checked separately)."""
    dest.mkdir(parents=True, exist_ok=True)
    have = {(canonicalize_name(n), str(v)) for n, v, _, _ in (parse_wheel_filename(p.name) for p in dest.glob("*.whl"))}
    missing = [
        s for s in specs if (canonicalize_name(Requirement(s).name), _pinned_version(Requirement(s))) not in have
    ]
    if not missing:
        return
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    cmd += ["--python-version", TARGET_PYTHON, "--implementation", "cp", "--abi", "cp310", "-d", str(dest)]
    for platform in TARGET_PLATFORMS:
        cmd += ["--platform", platform]
    print(f"model: downloading wheels for Python {TARGET_PYTHON}: {' '.join(missing)}", flush=True)
    subprocess.run(cmd + missing, check=True)


def stage(staging: Path, model_file: Path, wheel_cache: Path, neuron_model_file: Path | None = None) -> Path:
    if staging.exists():
        shutil.rmtree(staging)
    code = staging / "code"
    (code / "wheels").mkdir(parents=True)
    if neuron_model_file is not None:
        shutil.copyfile(neuron_model_file, staging / MODEL_FILE)
        shutil.copyfile(model_file, staging / CPU_MODEL_FILE)
    else:
        shutil.copyfile(model_file, staging / MODEL_FILE)
    shutil.copyfile(HANDLER_SOURCE, code / "inference.py")
    shutil.copyfile(REQUIREMENTS, code / "requirements.txt")
    shutil.copyfile(WARMUP_WAV, code / "warmup.wav")
    reqs = parse_requirements(REQUIREMENTS.read_text())
    specs = [str(r) for r in reqs.pins] + list(FALLBACK_WHEELS)
    download_wheels(specs, wheel_cache)
    wanted = {(canonicalize_name(Requirement(s).name), _pinned_version(Requirement(s))) for s in specs}
    for whl in sorted(wheel_cache.glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(whl.name)
        if (canonicalize_name(name), str(version)) in wanted and wheel_fits_target(whl.name):
            shutil.copyfile(whl, code / "wheels" / whl.name)
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


def _wheel_requires(data: bytes) -> list[Requirement]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(zf.read(meta_name).decode("utf-8"))
    out = []
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or Marker(str(req.marker)).evaluate(MARKER_ENV):
            out.append(req)
    return out


def verify_archive(archive: Path, handler_source: Path = HANDLER_SOURCE) -> list[str]:
    """Check the layout and the offline-install contract; return the listing. Raises ArchiveError."""
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        files = {m.name: tar.extractfile(m).read() for m in members if m.isfile()}  # type: ignore[union-attr]
    listing = [f"{m.size:>10}  {m.name}" for m in members if m.isfile()]
    for name in names:
        if name.startswith(("/", "./")) or ".." in Path(name).parts:
            raise ArchiveError(f"bad member path {name!r}: members must be relative to the archive root")
    for required in (MODEL_FILE, "code/inference.py", "code/requirements.txt"):
        if not files.get(required):
            raise ArchiveError(f"{required} missing or empty in {archive}")
    if files["code/inference.py"] != handler_source.read_bytes():
        raise ArchiveError("code/inference.py differs from sagemaker_model/code/inference.py")
    reqs = parse_requirements(files["code/requirements.txt"].decode())
    if "--no-index" not in reqs.options:
        raise ArchiveError("code/requirements.txt must say --no-index (the container may have no route to PyPI)")
    if "--find-links wheels" not in reqs.options and "--find-links=wheels" not in reqs.options:
        raise ArchiveError("code/requirements.txt must say --find-links wheels (relative to the file)")
    wheels = {Path(n).name: data for n, data in files.items() if n.startswith("code/wheels/") and n.endswith(".whl")}
    shipped: dict[str, str] = {}
    for filename in wheels:
        if not wheel_fits_target(filename):
            raise ArchiveError(f"{filename} does not install on CPython {TARGET_PYTHON} manylinux x86_64")
        name, version, _, _ = parse_wheel_filename(filename)
        shipped[canonicalize_name(name)] = str(version)
    for req in reqs.pins:
        key = canonicalize_name(req.name)
        if key in CONTAINER_PROVIDED:
            raise ArchiveError(f"{req.name} comes with the container; listing it would reinstall it")
        if shipped.get(key) != _pinned_version(req):
            raise ArchiveError(f"{req} has no matching wheel in code/wheels (shipped: {sorted(shipped.items())})")
    for filename, data in wheels.items():
        for dep in _wheel_requires(data):
            key = canonicalize_name(dep.name)
            if key not in shipped and key not in CONTAINER_PROVIDED:
                raise ArchiveError(f"{filename} needs {dep}, which is neither shipped nor in the container")
            if key in shipped and not dep.specifier.contains(shipped[key], prereleases=True):
                raise ArchiveError(f"{filename} needs {dep} but code/wheels has {shipped[key]}")
    return listing


def smoke_test(archive: Path) -> str:
    """Extract the archive and serve one request from it with the CPU handler (skipped for Neuron models)."""
    from sagemaker_model.local import ModelServer

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
    parser.add_argument("--wheel-cache", type=Path, default=WHEEL_CACHE)
    parser.add_argument("--s3-uri", default="", help="s3://bucket/prefix to upload to (optional)")
    parser.add_argument("--no-smoke-test", action="store_true", help="skip serving one request from the archive")
    args = parser.parse_args(argv)

    model_file = args.model_file or silero_jit_path()
    for given in (args.model_file, args.neuron_model_file):
        if given is not None and not given.is_file():
            parser.error(f"{given}: no such file")
    staging = args.out.parent / "model-archive"
    stage(staging, model_file, args.wheel_cache, args.neuron_model_file)
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
    print("model: layout OK; code/requirements.txt installs only shipped cp310 wheels with --no-index")
    if not args.no_smoke_test and args.model_file is None:  # the CPU handler serves model.cpu.pt when present
        print(f"model: smoke test (extracted archive, one request): {smoke_test(args.out)[:120]}...")
    if args.s3_uri:
        uri = upload(args.out, args.s3_uri)
        print(f"model: uploaded {uri}")
        print(f"model: sam deploy --parameter-overrides ModelDataUrl={uri}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
