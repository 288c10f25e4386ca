"""The emulated AWS the preflight tests read (the emulator tests' own fixture, one set-up for both)."""

from tests.localaws.conftest import emu  # noqa: F401  (a fixture)
