"""Cost and waiting simulator: replays a request trace through the policies, sleepwake's via sleepwake.core."""
