"""Run the SageMaker handler in-process exactly as the PyTorch toolkit does: model dir, cold start, invocations.

Used by `make serve-model`, the local stack's emulated SageMaker runtime, the tests and the bench.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import itertools
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CODE_DIR = Path(__file__).resolve().parent / "code"
HANDLER_SOURCE = CODE_DIR / "inference.py"
# The handler's modules: inference.py (the toolkit's entry) and the modules it imports from code/.
CODE_SOURCES = tuple(sorted(CODE_DIR.glob("*.py")))
WARMUP_WAV = REPO_ROOT / "layers" / "sleepwake" / "sleepwake" / "assets" / "warmup.wav"
DEFAULT_MODEL_DIR = REPO_ROOT / "build" / "model"
MODEL_FILE = "model.pt"
CPU_MODEL_FILE = "model.cpu.pt"  # the CPU trace beside a Neuron model.pt (code/inference.py says why)
JSON = "application/json"
UTF8_TYPES = (JSON, "text/csv")  # the toolkit decodes exactly these content types to str before input_fn

try:
    from sagemaker_inference.errors import BaseInferenceToolkitError as _ToolkitError
except ImportError:  # pragma: no cover
    _ToolkitError = None

_instance_ids = itertools.count(1)


def silero_jit_path() -> Path:
    """silero-vad's TorchScript file, found without importing the package (its import sets torch threads)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("silero-vad is not installed: run `make setup` (it installs silero-vad --no-deps)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.jit"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing from the silero-vad package")
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copy_if_changed(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and _sha256(dst) == _sha256(src):
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)  # atomic, so a concurrent reader never sees half a model


def prepare_model_dir(dest: Path | None = None, model_file: Path | None = None) -> Path:
    """Lay out (idempotently) a directory like the extracted model.tar.gz: model.pt, code/inference.py, warm-up WAV.

    `model_file` defaults to silero-vad's TorchScript model; pass the team's own TorchScript file to swap it.
    The same files as the archive (which installs nothing at container start).
    """
    dest = Path(dest) if dest is not None else DEFAULT_MODEL_DIR
    _copy_if_changed(Path(model_file) if model_file else silero_jit_path(), dest / MODEL_FILE)
    for source in CODE_SOURCES:
        _copy_if_changed(source, dest / "code" / source.name)
    if WARMUP_WAV.is_file():
        _copy_if_changed(WARMUP_WAV, dest / "code" / "warmup.wav")
    return dest


_LOAD_LOCK = threading.Lock()


def load_handler(model_dir: Path) -> ModuleType:
    """Import <model_dir>/code/inference.py by path under a unique module name (one per ModelServer), with
    code/ on the path as the toolkit sets it (sagemaker_inference/model_server.py adds the code directory to
    PYTHONPATH), so the handler imports its sibling modules by name. Those siblings are this handler's own:
    they are taken out of sys.modules again afterwards (the handler keeps its references), so two model
    directories never share them."""
    code = Path(model_dir) / "code"
    path = code / "inference.py"
    name = f"sleepwake_inference_{next(_instance_ids)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import handler {path}")
    siblings = {p.stem for p in code.glob("*.py")} - {"inference"}
    with _LOAD_LOCK:
        saved = {n: sys.modules.pop(n) for n in siblings if n in sys.modules}
        sys.path.insert(0, str(code))
        try:
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses look their module up in sys.modules while the file executes
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(str(code))
            for sibling in siblings:
                sys.modules.pop(sibling, None)
            sys.modules.update(saved)
    return module


@dataclass(frozen=True)
class InvocationResult:
    """One /invocations answer. `model_latency_ms` is the handler time, like SageMaker's ModelLatency."""

    status: int
    body: bytes
    content_type: str
    model_latency_ms: float
    # The message of a non-200. The body is that message when the handler answered the error itself, and message +
    # traceback when an exception reached the toolkit (its handle_error format).
    error: str | None = None
    # CPU time the serving thread spent on the request (time.thread_time): what the handler did, without the time
    # it waited for a CPU. On a shared host (the local stack runs every Lambda and model in one process) the
    # wall-clock latency measures the host's load as much as the copy; this measures the copy.
    cpu_ms: float = 0.0


class _Context:
    """The slice of the TorchServe context the toolkit passes to handler functions that take one.

    TorchServe keeps one context per model and keeps each request's status and content type on it
    (ts/context.py set_response_status, set_response_content_type); the response is built from them.
    """

    def __init__(self, model_dir: Path) -> None:
        self.system_properties = {"model_dir": str(model_dir), "gpu_id": None}
        self.status: tuple[int, str] | None = None

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.status = (int(code), phrase)

    def set_response_content_type(self, idx: int, value: str) -> None:
        pass  # the content type comes back from output_fn, as the toolkit reads it


class ModelServer:
    """One model copy: imports the handler, runs model_fn (load + warm-up) now, then serves invoke() serially."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)
        self._lock = threading.Lock()
        self._context = _Context(self.model_dir)
        self.handler = load_handler(self.model_dir)
        self._error_types: tuple[type, ...] = tuple(
            t for t in (_ToolkitError, getattr(self.handler, "BaseInferenceToolkitError", None)) if t is not None
        )
        for fn in ("model_fn", "input_fn", "predict_fn", "output_fn"):
            if not callable(getattr(self.handler, fn, None)):
                raise TypeError(f"{self.model_dir}/code/inference.py does not define {fn}")
        t0 = time.perf_counter()
        self.model: Any = self._run(self.handler.model_fn, str(self.model_dir))
        self.cold_start_ms = (time.perf_counter() - t0) * 1000
        self._closed = False

    def _run(self, func: Callable[..., Any], *argv: Any) -> Any:
        """The toolkit's _run_handler_function: pass the context only if the function has one more parameter."""
        n = len(inspect.signature(func).parameters)
        if n == len(argv):
            return func(*argv)
        if n == len(argv) + 1:
            return func(*argv, self._context)
        raise TypeError(f"{func.__name__} takes {n} arguments but {len(argv)} were given.")

    def ping(self) -> bool:
        return not self._closed and self.model is not None

    def invoke(self, body: bytes, content_type: str, accept: str = JSON) -> InvocationResult:
        """Same steps and error mapping as the toolkit's Transformer.transform; never raises for bad input."""
        with self._lock:
            t0, c0 = time.perf_counter(), time.thread_time()
            if self._closed:
                return InvocationResult(503, b"model server is closed", "text/plain", 0.0, "closed")
            try:
                if not accept or accept == "*/*":
                    accept = JSON  # SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT's default
                self._context.status = None  # a new request: TorchServe starts it with no status set
                data: Any = bytearray(body)  # the model server hands the body over as a bytearray
                if content_type in UTF8_TYPES:
                    data = data.decode("utf-8")
                decoded = self._run(self.handler.input_fn, data, content_type)
                prediction = self._run(self.handler.predict_fn, decoded, self.model)
                result = self._run(self.handler.output_fn, prediction, accept)
                response, response_type = result if isinstance(result, tuple) else (result, accept)
                payload = response.encode("utf-8") if isinstance(response, str) else bytes(response)
                latency_ms = (time.perf_counter() - t0) * 1000
                if self._context.status is not None and self._context.status[0] != 200:
                    # The handler answered an error through the context: its message is the whole body.
                    error = payload.decode("utf-8", "replace")
                    return InvocationResult(self._context.status[0], payload, response_type, latency_ms, error)
                cpu_ms = (time.thread_time() - c0) * 1000
                return InvocationResult(200, payload, response_type, latency_ms, cpu_ms=cpu_ms)
            except Exception as exc:
                trace = traceback.format_exc()
                if self._error_types and isinstance(exc, self._error_types):
                    status, message = int(exc.status_code), str(exc.message)  # type: ignore[attr-defined]
                else:
                    status, message = 500, str(exc)
                body_out = f"{message}\n{trace}".encode()
                return InvocationResult(status, body_out, "text/plain", (time.perf_counter() - t0) * 1000, message)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.model = None
            sys.modules.pop(self.handler.__name__, None)

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
