"""Write a request trace CSV that differs from the built-in week, for `sleepwake simulate --trace`.

Two weeks from Monday 19 May 2025 with US Memorial Day (26 May) as a holiday, a quarter of the users in
London, and intents that come only 30-120 s ahead (shorter than a scale-up), from the same session generator.

    .venv/bin/python scripts/make_trace.py build/traces/two-weeks-holiday.csv
    .venv/bin/sleepwake simulate --trace build/traces/two-weeks-holiday.csv
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, date
from pathlib import Path

from sleepwake_cli.simulate.trace import SyntheticWeek

ZONES = (
    ("Europe/London", 0.25),
    ("America/New_York", 0.40),
    ("America/Chicago", 0.20),
    ("America/Los_Angeles", 0.15),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="CSV to write (timestamp,wake_lead_seconds)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    trace = SyntheticWeek(
        seed=args.seed,
        first_day=date(2025, 5, 19),
        days=14,
        zones=ZONES,
        holidays=(date(2025, 5, 26),),
        intent_lead_seconds=(30.0, 120.0),
    ).build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "wake_lead_seconds"])
        for request in trace.requests:
            lead = "" if request.wake_lead_seconds is None else f"{request.wake_lead_seconds:.0f}"
            writer.writerow([request.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), lead])
    print(f"wrote {len(trace.requests)} requests to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
