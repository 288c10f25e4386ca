"""`make bench-model`: load time, first-request vs steady latency, handler overhead and peak RSS of the handler.

Each configuration runs in a fresh process (like a new model copy): prepare the model dir, ModelServer (model_fn:
load + warm-up), one first request, then steady requests. Audio is real speech from espeak-ng, looped to length.

The last section measures this host rather than the model: a warm copy's request sent after the host idled
(`--idle-seconds`, as the first request after a wake is), against the next STEADY_AFTER_IDLE back to back, in the
model's CPU time (ModelServer's `cpu_ms`), each request on a fresh thread as the local stack's HTTP server serves
them; `--idle-trials` times. Its tail is the noise one such ratio carries on this host (why `make demo`, which has
one first request, prints its ratio and judges warmth by the warm-up that ran; `make bench-wake` judges the goal
on a median over wakes). Beside it, the same ratio for a copy whose warm-up was skipped: as a new process (a new
container) and loaded in a process that already warmed a copy (as the local stack loads every copy in its one
process: TorchScript keeps part of what its first calls compile per process, so such a copy reads less cold).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soxr
from scipy.io import wavfile

REPO = Path(__file__).resolve().parent.parent
TEXT = (
    "The quick brown fox jumps over the lazy dog. Please say the words after me, slowly and clearly. "
    "Today we will practise the sounds at the start of each word."
)
DURATIONS = (1, 5, 30)
FORMATS = {"16k-mono": (16000, 1), "44.1k-stereo": (44100, 2)}
STEADY = {1: 40, 5: 30, 30: 10}
STEADY_AFTER_IDLE = 10  # as many as make demo's "next request warm" phase sends after its first request


def speech_16k(seconds: int, workdir: Path) -> np.ndarray:
    src = workdir / "speech.wav"
    if not src.exists():
        raw = workdir / "raw.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), TEXT], check=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(src)], check=True)
    _, data = wavfile.read(src)
    reps = int(np.ceil(seconds * 16000 / data.shape[0]))
    return np.tile(data, reps)[: seconds * 16000]


def clip_bytes(seconds: int, fmt: str, workdir: Path) -> bytes:
    rate, channels = FORMATS[fmt]
    mono = speech_16k(seconds, workdir).astype(np.float32) / 32768
    if rate != 16000:
        mono = soxr.resample(mono, 16000, rate, quality="VHQ").astype(np.float32)
    data = np.stack([mono] * channels, axis=1) if channels > 1 else mono
    buf = io.BytesIO()
    wavfile.write(buf, rate, (np.clip(data, -1, 1) * 32767).astype(np.int16))
    return buf.getvalue()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def run_one(seconds: int, fmt: str, workdir: Path) -> dict:
    """Inside a fresh process: cold start, first request, steady requests."""
    from sagemaker_model.model_server import ModelServer, prepare_model_dir

    body = clip_bytes(seconds, fmt, workdir)
    model_dir = prepare_model_dir()
    server = ModelServer(model_dir)
    first = server.invoke(body, "audio/wav")
    assert first.status == 200, first.body[:300]
    steady, overhead, model_ms = [], [], []
    for _ in range(STEADY[seconds]):
        r = server.invoke(body, "audio/wav")
        steady.append(r.model_latency_ms)
        t = json.loads(r.body)["timings_ms"]
        model_ms.append(t["model"])
        overhead.append(r.model_latency_ms - t["model"])  # decode + resample + segments/JSON + toolkit glue
    return {
        "clip": f"{seconds}s {fmt}",
        "load_ms": server.model.load_ms,
        "warmup_ms": server.model.warmup_ms,
        "warmup_iterations": server.model.warmup_iterations,
        "first_ms": first.model_latency_ms,
        "p50_ms": pct(steady, 50),
        "p95_ms": pct(steady, 95),
        "model_ms_p50": pct(model_ms, 50),
        "overhead_ms_p50": pct(overhead, 50),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def after_idle(trials: int, idle_s: float) -> dict:
    """Inside a fresh process: a copy whose warm-up was skipped, loaded first (as a new container's); then a warmed
    copy, `trials` times idle `idle_s`, one request and STEADY_AFTER_IDLE more (each trial's first request over the
    median of the rest, in model CPU time: what make demo prints); then another copy without warm-up, loaded beside
    the warmed one (as the local stack loads every copy in its one process)."""
    import threading

    from localaws.demo import first_to_steady
    from localaws.local_stack import SAMPLE
    from sagemaker_model.model_server import ModelServer, prepare_model_dir

    body = SAMPLE.read_bytes()  # the local stack's request (make demo sends it)

    def first_then_steady(server: ModelServer) -> float:
        def cpu_ms() -> float:  # on a fresh thread: the local stack's HTTP server starts one per request
            out: list[float] = []
            thread = threading.Thread(target=lambda: out.append(server.invoke(body, "audio/wav").cpu_ms))
            thread.start()
            thread.join()
            return out[0]

        return first_to_steady([cpu_ms() for _ in range(STEADY_AFTER_IDLE + 1)])

    def copy(warmup: str | None) -> ModelServer:
        os.environ.pop("SLEEPWAKE_WARMUP_ITERATIONS", None)
        if warmup is not None:
            os.environ["SLEEPWAKE_WARMUP_ITERATIONS"] = warmup
        return ModelServer(prepare_model_dir())

    cold_new = first_then_steady(copy("0"))
    warm = copy(None)  # the handler's default warm-up
    ratios = []
    for _ in range(trials):
        time.sleep(idle_s)
        ratios.append(first_then_steady(warm))
    return {"ratios": ratios, "cold_new_process": cold_new, "cold_beside_warm": first_then_steady(copy("0"))}


def spawn_after_idle(trials: int, idle_s: float) -> dict:
    return _spawned(["--after-idle", str(trials), str(idle_s)], None)


def spawn(seconds: int, fmt: str, workdir: Path, warmup: str | None = None) -> dict:
    return _spawned(["--one", str(seconds), fmt, "--workdir", str(workdir)], warmup)


def _spawned(argv: list[str], warmup: str | None) -> dict:
    env = dict(os.environ)
    if warmup is not None:
        env["SLEEPWAKE_WARMUP_ITERATIONS"] = warmup
    out = subprocess.run(
        [sys.executable, __file__, *argv],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_after_idle(ratios: list[float], cold_new: float, cold_beside: float, idle_s: float) -> None:
    from localaws.demo import FIRST_REQUEST_GOAL

    over_goal = sum(r > FIRST_REQUEST_GOAL for r in ratios)
    print(
        f"this host: a warm copy's request after {idle_s:g} s idle over the next {STEADY_AFTER_IDLE} back to back, "
        f"model CPU time, {len(ratios)} trials: p50 {pct(ratios, 50):.2f}x p90 {pct(ratios, 90):.2f}x "
        f"p99 {pct(ratios, 99):.2f}x max {max(ratios):.2f}x; over {FIRST_REQUEST_GOAL}x: {over_goal}. A copy whose "
        f"warm-up was skipped: {cold_new:.2f}x as a new process, {cold_beside:.2f}x beside a warmed copy"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--one", nargs=2, metavar=("SECONDS", "FORMAT"))
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--after-idle", nargs=2, metavar=("TRIALS", "SECONDS"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--idle-trials", type=int, default=30, help="warm-copy requests after the host idled (default 30)"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=2.0, help="how long the host idles before each (default 2 s)"
    )
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(int(args.one[0]), args.one[1], args.workdir)))
        return 0
    if args.after_idle:
        print(json.dumps(after_idle(int(args.after_idle[0]), float(args.after_idle[1]))))
        return 0
    if args.idle_trials < 1 or args.idle_seconds < 0:
        parser.error("--idle-trials must be at least 1 and --idle-seconds at least 0")
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench-model: {tool} missing: run `make setup`")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows = [spawn(s, f, workdir) for f in FORMATS for s in DURATIONS]
        cold = spawn(5, "16k-mono", workdir, warmup="0")
        idle = spawn_after_idle(args.idle_trials, args.idle_seconds)
    import torch

    print(
        f"bench-model: silero-vad TorchScript on CPU, torch {torch.__version__}, {os.cpu_count()} vCPU, "
        f"each row a fresh process (python {sys.version.split()[0]})"
    )
    print(
        f"model load (torch.jit.load): p50 {statistics.median(r['load_ms'] for r in rows):.0f} ms; "
        f"warm-up ({rows[0]['warmup_iterations']} iterations x 2 payloads): "
        f"p50 {statistics.median(r['warmup_ms'] for r in rows):.0f} ms"
    )
    head = (
        f"{'clip':<18}{'first ms':>10}{'p50 ms':>9}{'p95 ms':>9}{'first/p50':>11}{'model ms':>10}{'overhead':>10}"
        f"{'ovh/model':>11}{'peak RSS':>10}"
    )
    print(head)
    for r in [*rows, {**cold, "clip": "5s 16k-mono, no warm-up"}]:
        print(
            f"{r['clip']:<18}{r['first_ms']:>10.1f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}"
            f"{r['first_ms'] / r['p50_ms']:>10.2f}x{r['model_ms_p50']:>10.1f}{r['overhead_ms_p50']:>10.2f}"
            f"{100 * r['overhead_ms_p50'] / r['model_ms_p50']:>10.1f}%{r['peak_rss_mb']:>8.0f} MB"
        )
    five = [r for r in rows if r["clip"].startswith("5s")]
    worst_ratio = max(r["first_ms"] / r["p50_ms"] for r in rows)
    worst_ovh = max(100 * r["overhead_ms_p50"] / r["model_ms_p50"] for r in five)
    print(
        f"goal first request <= 1.5x steady p50: worst {worst_ratio:.2f}x -> "
        f"{'MET' if worst_ratio <= 1.5 else 'MISSED'}"
    )
    print(
        f"goal overhead <= 10% of model time on 5 s clips: worst {worst_ovh:.1f}% -> "
        f"{'MET' if worst_ovh <= 10 else 'MISSED'}"
    )
    print_after_idle(idle["ratios"], idle["cold_new_process"], idle["cold_beside_warm"], args.idle_seconds)
    print(f"(bench took {time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))  # run as a script by `make bench-model`; the repo root holds sagemaker_model
    raise SystemExit(main())
