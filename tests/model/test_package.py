"""`make model`'s archive: the toolkit's layout, reproducible bytes, and nothing to install at container start
(no code/requirements.txt: the toolkit would pip-install it into site-packages at every start, which a
serverless container may not write and an inf1 container may not reach PyPI for). The handler runs with only
what every target image has plus the archive."""

from __future__ import annotations

import builtins
import hashlib
import shutil
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sagemaker_model import package
from sagemaker_model.model_server import HANDLER_SOURCE, WARMUP_WAV, ModelServer, silero_jit_path


def _staged(tmp: Path, name: str = "a", model: Path | None = None) -> Path:
    if model is None:
        model = tmp / "model.pt"
        model.write_bytes(b"not really a model, the layout check does not load it")
    return package.stage(tmp / f"staging-{name}", model)


def _archive(tmp: Path, staging: Path, name: str = "a") -> Path:
    archive = tmp / f"{name}.tar.gz"
    package.write_archive(staging, archive)
    return archive


def test_the_archive_has_the_toolkit_layout_and_nothing_to_install(tmp_path: Path) -> None:
    archive = _archive(tmp_path, _staged(tmp_path))
    names = [line.split()[-1] for line in package.verify_archive(archive)]
    modules = [f"code/{p.name}" for p in HANDLER_SOURCE.parent.glob("*.py")]
    assert "code/inference.py" in modules and len(modules) > 1  # the toolkit's entry and its own modules
    assert sorted(names) == sorted([*modules, "code/warmup.wav", "model.pt"])
    assert not (HANDLER_SOURCE.parent / "requirements.txt").exists()
    with tarfile.open(archive) as tar:
        assert all(not m.name.startswith(("/", "./")) for m in tar.getmembers())


def test_same_inputs_give_the_same_archive_bytes(tmp_path: Path) -> None:
    a = _archive(tmp_path, _staged(tmp_path, "a"), "a")
    b = _archive(tmp_path, _staged(tmp_path, "b"), "b")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


BROKEN = {
    "requirements.txt": ("code/requirements.txt", b"soundfile==0.14.0\n", "pip-installs it into site-packages"),
    "shipped wheel": ("code/wheels/soundfile-0.14.0-py2.py3-none-any.whl", b"PK", "does not use"),
    "a module that is not the handler's": ("code/helper.py", b"VALUE = 1\n", "not the handler's"),
    "a handler module that needs a package no image has": (
        "code/decode.py",
        b"import soundfile\n",
        r"code/decode.py imports \['soundfile'\]",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_verification_rejects_an_archive_that_would_install_or_miss_something(tmp_path: Path, case: str) -> None:
    member, data, fragment = BROKEN[case]
    staging = _staged(tmp_path)
    (staging / member).parent.mkdir(parents=True, exist_ok=True)
    (staging / member).write_bytes(data)
    with pytest.raises(package.ArchiveError, match=fragment):
        package.verify_archive(_archive(tmp_path, staging))


def test_verification_rejects_a_stale_handler(tmp_path: Path) -> None:
    archive = _archive(tmp_path, _staged(tmp_path))
    stale = tmp_path / "old_inference.py"
    stale.write_text("def model_fn(model_dir): ...\n")
    with pytest.raises(package.ArchiveError, match="differs"):
        package.verify_archive(archive, handler_source=stale)


def test_the_handler_needs_only_the_standard_library_and_what_every_image_has() -> None:
    modules = list(HANDLER_SOURCE.parent.glob("*.py"))
    needed = set().union(*(package.handler_imports(m.read_text()) for m in modules)) - {m.stem for m in modules}
    # torch_neuron only on inf1: the handler imports it when its target is neuron
    assert needed - set(sys.stdlib_module_names) == {"numpy", "scipy", "torch", "torch_neuron"}
    assert "soundfile" not in needed  # optional: imported inside try/except ImportError
    assert package.handler_imports("try:\n    import a\nexcept ImportError:\n    a = None\nimport b.c\n") == {"b"}


@contextmanager
def _only_the_image_and_the_archive(code_dir: Path) -> Iterator[None]:
    """Imports made by the archive's code/ find only the standard library, the image's packages and code/'s own
    modules; anything else (soundfile, installed here for the tests) is absent, as in the container."""
    allowed = set(sys.stdlib_module_names) | package.IMAGE_PROVIDED | {p.stem for p in code_dir.glob("*.py")}
    original = builtins.__import__
    refused: list[str] = []

    def guarded(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        caller = (globals or {}).get("__file__") or ""
        if level == 0 and caller.startswith(str(code_dir)) and name.split(".")[0] not in allowed:
            refused.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (not in the image)")
        return original(name, globals, locals, fromlist, level)

    builtins.__import__ = guarded
    try:
        yield
    finally:
        builtins.__import__ = original


def test_the_packaged_handler_serves_with_only_the_images_packages_and_the_archive(tmp_path: Path) -> None:
    archive = _archive(tmp_path, _staged(tmp_path, model=silero_jit_path()))
    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir, filter="data")
    with _only_the_image_and_the_archive(model_dir / "code"):
        server = ModelServer(model_dir)
    try:
        wav = server.invoke((model_dir / "code" / "warmup.wav").read_bytes(), "audio/wav")
        assert wav.status == 200, wav.error
        flac = server.invoke(b"fLaC" + bytes(64), "audio/flac")
        assert flac.status == 415 and "no soundfile" in (flac.error or "")
    finally:
        server.close()


def test_the_import_guard_would_catch_a_handler_that_needs_more(tmp_path: Path) -> None:
    """The guard above is not vacuous: a handler module that imports soundfile outright fails to load."""
    code = tmp_path / "code"
    code.mkdir()
    shutil.copyfile(WARMUP_WAV, code / "warmup.wav")
    (code / "inference.py").write_text("import soundfile\n\ndef model_fn(model_dir):\n    return None\n")
    with _only_the_image_and_the_archive(code), pytest.raises(ModuleNotFoundError, match="soundfile"):
        exec(
            compile((code / "inference.py").read_text(), str(code / "inference.py"), "exec"),
            {"__file__": str(code / "inference.py")},
        )
