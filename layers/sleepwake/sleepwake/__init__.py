"""sleepwake: sleep, wake and warm a SageMaker inference component on a schedule and on demand."""

__version__ = "0.1.0"
