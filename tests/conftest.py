"""Test-suite settings shared by every file."""

from hypothesis import settings

# No per-example deadline: CI machines vary in speed, and the tests check
# values, never timing.
settings.register_profile("autodiff", deadline=None)
settings.load_profile("autodiff")
