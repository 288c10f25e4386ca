"""Write a request trace CSV that differs from the built-in week, for `sleepwake simulate --trace`.

`two-weeks-holiday` (default): two weeks from Monday 19 May 2025 with US Memorial Day (26 May) as a holiday, a
quarter of the users in London, and intents only 30-120 s ahead (shorter than a scale-up).
`five-weeks-shift`: five weeks from Monday 5 May 2025, Memorial Day a holiday, and from Wednesday 28 May every
user comes two hours later (a new timetable); the simulator warms the planner on the first three weeks and
scores the last two, so the shift falls in the scored part.
`held-out` (issue 14; never used to choose a default): five weeks from Monday 13 October 2025 across the end of
daylight saving time (Europe 26 October, US 2 November, inside the warm-up), Veterans Day (Tuesday 11 November)
a holiday in the scored part, from Wednesday 5 November every user an hour later (a drift), intents only
20-90 s ahead (shorter than any scale-up), a fifth of the sessions from users abroad (London, Berlin, Tokyo:
requests in the US night), and another seed.
`built-in-week`: the week `sleepwake simulate` uses without --trace (its own --seed default unless --seed), as a
CSV (`make replay` reads CSVs).
`holiday-week` (`make replay`'s own trace): one week from Monday 26 May 2025, Memorial Day a holiday, a quarter
of the users in London, intents only 30-120 s ahead. All from the built-in week's session generator.
`--announced-share S`: that share of the sessions call /wake first, the arrivals unchanged (the same users; the
sessions the profile announces first, `SyntheticWeek.announced_share`). `--intent-lead MINUTES`: every intent
moved to that many minutes before its request (`Trace.with_intent_lead`, as `sleepwake simulate`'s intent-lead
variants move them). Together they say what the product's /wake would have to do for a goal
(`scripts/simulate_goals.py --what-it-takes`).
`--history-weeks N` (one-week profiles): the N weeks before the week come first, from the same generator with
other seeds, as `sleepwake simulate` gives the built-in week its planner history (`SyntheticWeek.earlier_weeks`);
`sleepwake simulate --trace` and `make replay --history-weeks N` learn from them and score the last week.

    .venv/bin/python scripts/make_trace.py build/traces/two-weeks-holiday.csv
    .venv/bin/python scripts/make_trace.py --profile five-weeks-shift build/traces/five-weeks-shift.csv
    .venv/bin/python scripts/make_trace.py --profile held-out build/traces/held-out.csv
    .venv/bin/python scripts/make_trace.py --profile held-out --intent-lead 5 --announced-share 0.8 build/traces/h5.csv
    .venv/bin/python scripts/make_trace.py --profile built-in-week build/traces/built-in-week.csv
    .venv/bin/python scripts/make_trace.py --profile built-in-week --history-weeks 3 build/traces/built-in-4-weeks.csv
    .venv/bin/sleepwake simulate --trace build/traces/five-weeks-shift.csv
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import replace
from datetime import UTC, date, timedelta
from pathlib import Path

from sleepwake_cli.simulate.base import SimulationSettings
from sleepwake_cli.simulate.cli import number
from sleepwake_cli.simulate.trace import Request, SyntheticWeek, Trace

ZONES = (
    ("Europe/London", 0.25),
    ("America/New_York", 0.40),
    ("America/Chicago", 0.20),
    ("America/Los_Angeles", 0.15),
)


HELD_OUT_ZONES = (
    ("America/New_York", 0.38),
    ("America/Chicago", 0.24),
    ("America/Denver", 0.05),
    ("America/Los_Angeles", 0.13),
    ("Europe/London", 0.10),
    ("Europe/Berlin", 0.06),
    ("Asia/Tokyo", 0.04),
)
PROFILES = ("two-weeks-holiday", "five-weeks-shift", "held-out", "built-in-week", "holiday-week")
BUILT_IN_SEED = SimulationSettings.seed  # sleepwake simulate's --seed default: its built-in week
SEED = 11


def profile_week(profile: str, seed: int | None = None) -> SyntheticWeek:
    """The generator's knobs for each profile (see the module's docstring)."""
    if profile == "built-in-week":
        return SyntheticWeek(seed=BUILT_IN_SEED if seed is None else seed)
    seed = SEED if seed is None else seed
    if profile == "holiday-week":
        return SyntheticWeek(
            seed=seed,
            first_day=date(2025, 5, 26),
            zones=ZONES,
            holidays=(date(2025, 5, 26),),
            intent_lead_seconds=(30.0, 120.0),
        )
    if profile == "two-weeks-holiday":
        return SyntheticWeek(
            seed=seed,
            first_day=date(2025, 5, 19),
            days=14,
            zones=ZONES,
            holidays=(date(2025, 5, 26),),
            intent_lead_seconds=(30.0, 120.0),
        )
    if profile == "five-weeks-shift":
        return SyntheticWeek(
            seed=seed,
            first_day=date(2025, 5, 5),
            days=35,
            holidays=(date(2025, 5, 26),),
            shift_from=date(2025, 5, 28),
            shift_hours=2,
        )
    if profile == "held-out":
        return SyntheticWeek(
            seed=seed + 90,
            first_day=date(2025, 10, 13),
            days=35,
            zones=HELD_OUT_ZONES,
            holidays=(date(2025, 11, 11),),
            shift_from=date(2025, 11, 5),
            shift_hours=1,
            intent_lead_seconds=(20.0, 90.0),
        )
    raise ValueError(f"unknown profile {profile!r}: one of {', '.join(PROFILES)}")


def with_history(week: SyntheticWeek, weeks: int) -> Trace:
    """The week's trace with the `weeks` weeks before it first (their requests without intents: history is
    when requests came). Only for a one-week profile: earlier_weeks steps back a week at a time."""
    trace = week.build()
    if not weeks:
        return trace
    if week.days != 7:
        raise ValueError(f"--history-weeks needs a one-week profile; this one has {week.days} days")
    history = tuple(Request(at) for at in week.earlier_weeks(weeks))
    start = trace.start - timedelta(days=7 * weeks)
    return Trace(history + trace.requests, start, trace.end, f"{trace.source} after {weeks} weeks of history")


def write_csv(trace: Trace, out: Path) -> None:
    """timestamp,wake_lead_seconds rows, to the second, as `sleepwake simulate --trace` reads them."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "wake_lead_seconds"])
        for request in trace.requests:
            lead = "" if request.wake_lead_seconds is None else f"{request.wake_lead_seconds:.0f}"
            writer.writerow([request.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), lead])


def announced(profile: str, seed: int | None, share: float | None) -> SyntheticWeek:
    """The profile's generator with `share` of its sessions announced (None: the profile's share), the arrivals
    unchanged."""
    week = profile_week(profile, seed)
    return week if share is None else replace(week, announced_share=share)


def relead(trace: Trace, lead_minutes: float | None) -> Trace:
    """Every intent `lead_minutes` before its request (None: as generated)."""
    return trace if lead_minutes is None else trace.with_intent_lead(60 * lead_minutes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="CSV to write (timestamp,wake_lead_seconds)")
    parser.add_argument("--seed", type=int, help=f"default {SEED} ({BUILT_IN_SEED} for built-in-week)")
    parser.add_argument("--profile", choices=PROFILES, default="two-weeks-holiday")
    parser.add_argument(
        "--history-weeks", type=int, choices=range(5), default=0, help="weeks of history first (one-week profiles)"
    )
    parser.add_argument(
        "--announced-share",
        type=number(float, 0, 1),
        help="share of sessions that call /wake first (default: the profile's)",
    )
    parser.add_argument(
        "--intent-lead", type=number(float, 0), metavar="MINUTES", help="every /wake this long before its request"
    )
    args = parser.parse_args(argv)
    week = announced(args.profile, args.seed, args.announced_share)
    try:
        trace = relead(with_history(week, args.history_weeks), args.intent_lead)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        write_csv(trace, args.out)
    except OSError as exc:  # a folder, a read-only place: one line, as for any bad argument
        hint = f"; name a file in it, e.g. {args.out / 'trace.csv'}" if args.out.is_dir() else ""
        parser.exit(2, f"{parser.prog}: error: cannot write {args.out}: {exc.strerror or exc}{hint}\n")
    print(f"wrote {len(trace.requests)} requests to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
