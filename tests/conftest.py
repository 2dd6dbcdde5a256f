"""Registers the shared fixtures (tests/support) for every test module."""

pytest_plugins = [
    "tests.support.collector",
    "tests.support.browser",
    "tests.support.dashboard",
    "tests.support.matomo_browser",
]
