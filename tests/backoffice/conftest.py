# The pharmacy site's pages over the bedside's demo hospital and interop's destinations.
from tests.interop.conftest import destination, hospital, receiver  # noqa: F401
from tests.scanning.conftest import frozen_demo, nurse_client  # noqa: F401
