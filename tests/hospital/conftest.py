# The demo hospital at a fixed time, shared with the bedside tests.
from tests.scanning.conftest import frozen_demo, nurse_client  # noqa: F401
