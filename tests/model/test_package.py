"""`make model`'s archive: toolkit layout, reproducible bytes, and requirements that install only shipped wheels."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from sagemaker_model import package
from sagemaker_model.local import HANDLER_SOURCE, WARMUP_WAV

GOOD_REQUIREMENTS = "--no-index\n--find-links wheels\nsoundfile==0.14.0\ncffi==2.1.1\npycparser==3.11\n"


def _fake_wheel(path: Path, name: str, version: str, requires: list[str]) -> None:
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}-{version}.dist-info/METADATA", meta)


WHEELS = {
    "soundfile-0.14.0-py2.py3-none-manylinux_2_28_x86_64.whl": ("soundfile", "0.14.0", ["cffi>=1.0", "numpy"]),
    "cffi-2.1.1-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl": (
        "cffi",
        "2.1.1",
        ['pycparser; implementation_name != "PyPy"'],
    ),
    "pycparser-3.11-py3-none-any.whl": ("pycparser", "3.11", []),
}


def _build(tmp: Path, requirements: str = GOOD_REQUIREMENTS, wheels: dict | None = None, name: str = "a") -> Path:
    staging = tmp / f"staging-{name}"
    (staging / "code" / "wheels").mkdir(parents=True)
    (staging / "model.pt").write_bytes(b"not really a model, the layout check does not load it")
    shutil.copyfile(HANDLER_SOURCE, staging / "code" / "inference.py")
    shutil.copyfile(WARMUP_WAV, staging / "code" / "warmup.wav")
    (staging / "code" / "requirements.txt").write_text(requirements)
    for filename, (dist, version, requires) in (WHEELS if wheels is None else wheels).items():
        _fake_wheel(staging / "code" / "wheels" / filename, dist, version, requires)
    archive = tmp / f"{name}.tar.gz"
    package.write_archive(staging, archive)
    return archive


def test_archive_has_the_toolkit_layout_with_model_at_the_root(tmp_path: Path) -> None:
    archive = _build(tmp_path)
    listing = package.verify_archive(archive)
    names = [line.split()[-1] for line in listing]
    assert "model.pt" in names and "code/inference.py" in names and "code/requirements.txt" in names
    with tarfile.open(archive) as tar:
        assert all(not m.name.startswith(("/", "./")) for m in tar.getmembers())


def test_same_inputs_give_the_same_archive_bytes(tmp_path: Path) -> None:
    a, b = _build(tmp_path, name="a"), _build(tmp_path, name="b")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_the_committed_requirements_are_offline_and_pinned() -> None:
    reqs = package.parse_requirements(package.REQUIREMENTS.read_text())
    assert "--no-index" in reqs.options and "--find-links wheels" in reqs.options
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in reqs.pins)
    assert not {r.name for r in reqs.pins} & package.CONTAINER_PROVIDED


BROKEN = {
    "needs the internet": (GOOD_REQUIREMENTS.replace("--no-index\n", ""), None, "--no-index"),
    "no find-links": (GOOD_REQUIREMENTS.replace("--find-links wheels\n", ""), None, "--find-links"),
    "unpinned": (GOOD_REQUIREMENTS.replace("soundfile==0.14.0", "soundfile>=0.12"), None, "pinned"),
    "wheel not shipped": (GOOD_REQUIREMENTS + "soxr==1.0.0\n", None, "no matching wheel"),
    "reinstalls numpy": (GOOD_REQUIREMENTS + "numpy==1.24.4\n", None, "comes with the container"),
    "wrong python": (
        GOOD_REQUIREMENTS,
        {**WHEELS, "soxr-1.0.0-cp311-cp311-manylinux_2_17_x86_64.whl": ("soxr", "1.0.0", [])},
        "does not install on CPython 3.10",
    ),
    "too new glibc": (
        GOOD_REQUIREMENTS,
        {**WHEELS, "soxr-1.0.0-cp310-cp310-manylinux_2_34_x86_64.whl": ("soxr", "1.0.0", [])},
        "does not install on CPython 3.10",
    ),
    "dependency missing": (
        GOOD_REQUIREMENTS,
        {k: v for k, v in WHEELS.items() if not k.startswith("pycparser")},
        "pycparser",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_verification_rejects_an_archive_that_would_fail_at_container_start(tmp_path: Path, case: str) -> None:
    requirements, wheels, fragment = BROKEN[case]
    archive = _build(tmp_path, requirements, wheels)
    with pytest.raises(package.ArchiveError, match=fragment):
        package.verify_archive(archive)


def test_verification_rejects_a_stale_handler(tmp_path: Path) -> None:
    archive = _build(tmp_path)
    stale = tmp_path / "old_inference.py"
    stale.write_text("def model_fn(model_dir): ...\n")
    with pytest.raises(package.ArchiveError, match="differs"):
        package.verify_archive(archive, handler_source=stale)


def test_staging_takes_only_the_pinned_wheels_from_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    for filename, (dist, version, requires) in WHEELS.items():
        _fake_wheel(cache / filename, dist, version, requires)
    _fake_wheel(cache / "typing_extensions-4.16.0-py3-none-any.whl", "typing_extensions", "4.16.0", [])
    _fake_wheel(cache / "soundfile-0.13.1-py2.py3-none-manylinux_2_28_x86_64.whl", "soundfile", "0.13.1", [])
    model = tmp_path / "model.pt"
    model.write_bytes(b"m")
    staging = package.stage(tmp_path / "staging", model, cache)  # all pins cached: no download
    shipped = sorted(p.name for p in (staging / "code" / "wheels").iterdir())
    assert shipped == sorted([*WHEELS, "typing_extensions-4.16.0-py3-none-any.whl"])
    archive = tmp_path / "model.tar.gz"
    package.write_archive(staging, archive)
    package.verify_archive(archive)


def test_wheel_tags_are_judged_for_the_inf1_container() -> None:
    fits = package.wheel_fits_target
    assert fits("numpy-1.24.4-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
    assert fits("soundfile-0.14.0-py2.py3-none-manylinux_2_28_x86_64.whl")
    assert fits("six-1.17.0-py2.py3-none-any.whl")
    assert not fits("cffi-2.1.1-cp311-cp311-manylinux2014_x86_64.whl")
    assert not fits("soundfile-0.14.0-py2.py3-none-macosx_11_0_arm64.whl")
    assert not fits("x-1.0-cp310-cp310-manylinux_2_17_aarch64.whl")
    assert not fits("x-1.0-cp310-cp310-manylinux_2_35_x86_64.whl")


def test_wheel_metadata_markers_are_evaluated_for_linux_cpython(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "x-1.dist-info/METADATA",
            'Name: x\nRequires-Dist: a\nRequires-Dist: b; sys_platform == "win32"\nRequires-Dist: c; extra == "t"\n',
        )
    assert [r.name for r in package._wheel_requires(buf.getvalue())] == ["a"]
