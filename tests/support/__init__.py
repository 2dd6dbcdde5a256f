"""What test modules share: helpers to import, and fixtures registered as pytest plugins by
tests/conftest.py (so no test module imports a fixture by name)."""
