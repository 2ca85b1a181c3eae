import pytest


@pytest.fixture(autouse=True)
def simulator_debug(settings):
    """The simulator exists only with DEBUG on (pytest-django turns it off)."""
    settings.DEBUG = True
    settings.SIMULATOR_ENABLED = True
