"""The `sleepwake` command line: operator commands and the cost/waiting simulator."""
