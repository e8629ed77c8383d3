"""What the twins return where a model instance is not enough: one shape for both, so that the
bedside cannot tell which of them read its facts."""

from datetime import datetime
from typing import NamedTuple

from wards.models import Admission, Patient


class BandRead(NamedTuple):
    patient: Patient | None
    admission: Admission | None  # the open admission, patient and ward attached
    band_active: bool
    performer_on_ward: bool
    # For an inactive band that was the active band of its admission when that admission closed
    # (voided by the discharge, not by a reprint: the admission's last band, voided no earlier
    # than the discharge): the discharge time. Else None.
    band_discharged_at: datetime | None
