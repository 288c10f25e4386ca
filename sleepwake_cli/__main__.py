"""`python -m sleepwake_cli ...` runs the same entry point as the `sleepwake` console script."""

from sleepwake_cli.main import main

raise SystemExit(main())
