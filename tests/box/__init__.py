"""The box tier (see conftest.py): a package, so its conftest is `box.conftest` and never shadows tests/conftest.py."""
