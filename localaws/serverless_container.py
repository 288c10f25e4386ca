"""A serverless container may write only under /tmp: the emulated container's start and its requests.

Sources: the SageMaker developer guide's Serverless Inference troubleshooting says the container may not have
permission to write files, and a container whose start-up writes elsewhere fails its `/ping` health check
("The primary container for production variant AllTraffic did not pass the ping health check", the
endpoint-creation failure the AWS knowledge center quotes); /tmp is the writable place (the same page, and
Lambda, which Serverless Inference runs on, gives only /tmp). The framework toolkit's start-up step
(`sagemaker_inference/model_server.py`, `_install_requirements`) runs `pip install -r code/requirements.txt`
into the image's site-packages whenever that file exists.

What is emulated:
- `toolkit_start(model_dir)`: the toolkit's requirements step. With `code/requirements.txt` present it would
  install into site-packages (`sysconfig`'s purelib of the image's Python), outside /tmp: the start fails.
  pip is not run; the step fails on the rule itself, before any install could begin.
- `writes_only_under(roots)`: while active in a thread, every file write that thread's Python code starts
  outside `roots` fails with PermissionError (EACCES), as a read-only file system would: `open`/`os.open`
  for writing, creating or truncating; mkdir, rename/replace, remove/unlink, rmdir, symlink, link, truncate,
  shutil's copy/move/rmtree. Implemented with a process-wide audit hook (`sys.addaudithook`, PEP 578) that
  acts only in a thread that asked for it.

Limits of this way: only Python-level operations in the thread that runs the container start or the request
are seen; a C/C++ extension writing through its own file I/O (e.g. `torch.jit.save` to a path), a subprocess
or another thread the handler starts are not. Writes to files already open before the guard are not seen.
Python's own bytecode cache (`__pycache__`) is refused too, and Python ignores that failure as it does in a
read-only container. Reads are never refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import sysconfig
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WRITABLE_ROOTS: tuple[str, ...] = ("/tmp",)  # the container's only writable place
PING_FAILURE = (
    "The primary container for production variant {variant} did not pass the ping health check. Please check "
    "CloudWatch logs for this endpoint."
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
# audit event -> positions of the path arguments it writes (CPython's audit events table)
_PATH_EVENTS: dict[str, tuple[int, ...]] = {
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.replace": (0, 1),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.truncate": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (0, 1),
    "shutil.rmtree": (0,),
}


class ContainerStartFailed(Exception):
    """The emulated container did not start (its reason is the message); the endpoint answers the /ping
    failure."""


_STATE = threading.local()
_INSTALLED = False
_INSTALL_LOCK = threading.Lock()


def _outside(path: Any, roots: tuple[str, ...]) -> str | None:
    """The absolute path if it lies outside every root, else None (file descriptors are not paths)."""
    if isinstance(path, int) or path is None:
        return None
    text = os.fsdecode(path)
    absolute = os.path.realpath(os.path.abspath(text))
    for root in roots:
        real_root = os.path.realpath(root)
        if absolute == real_root or absolute.startswith(real_root.rstrip(os.sep) + os.sep):
            return None
    return absolute


def _is_write(mode: Any, flags: Any) -> bool:
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    roots: tuple[str, ...] | None = getattr(_STATE, "roots", None)
    if not roots:
        return
    if event == "open":
        path, mode, flags = (*tuple(args), None, None, None)[:3]
        targets = [path] if _is_write(mode, flags) else []
    elif event in _PATH_EVENTS:
        targets = [args[i] for i in _PATH_EVENTS[event] if i < len(args)]
    else:
        return
    for target in targets:
        outside = _outside(target, roots)
        if outside is not None:
            raise PermissionError(
                errno.EACCES,
                f"Permission denied (a serverless container writes only under {', '.join(roots)})",
                outside,
            )


def _install() -> None:
    global _INSTALLED
    with _INSTALL_LOCK:
        if not _INSTALLED:
            sys.addaudithook(_hook)  # cannot be removed; idle unless a thread set its roots
            _INSTALLED = True


@contextlib.contextmanager
def writes_only_under(roots: tuple[str, ...] | None = None) -> Iterator[None]:
    """File writes this thread's Python code starts outside `roots` (default WRITABLE_ROOTS) fail with
    PermissionError."""
    _install()
    previous = getattr(_STATE, "roots", None)
    _STATE.roots = tuple(roots if roots is not None else WRITABLE_ROOTS)
    try:
        yield
    finally:
        _STATE.roots = previous


def toolkit_start(model_dir: Path) -> None:
    """The framework toolkit's start-up step: pip-install code/requirements.txt into site-packages if present."""
    requirements = Path(model_dir) / "code" / "requirements.txt"
    if not requirements.is_file():
        return
    site_packages = sysconfig.get_paths()["purelib"]
    if _outside(site_packages, getattr(_STATE, "roots", None) or WRITABLE_ROOTS) is not None:
        raise ContainerStartFailed(
            f"pip install -r {requirements.relative_to(model_dir)} into {site_packages}: Permission denied "
            "(a serverless container writes only under /tmp)"
        )
