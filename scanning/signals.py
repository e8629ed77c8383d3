from django.dispatch import Signal

# Sent inside the recording transaction for every new Administration row (given, not given,
# entered in error, replacement). Receivers that write (the interop outbox) commit or roll back
# with the record. Arguments: administration.
administration_recorded = Signal()

# Sent inside the recording transaction for every later event in the life of an infusion bag
# (rate changed, paused, resumed, completed, stopped; the hanging itself is an administration).
# Arguments: event.
infusion_event_recorded = Signal()

# Sent inside the removal's transaction for every new Removal row (a patch, ring or implant taken
# off). Arguments: removal.
removal_recorded = Signal()

# Sent inside the waste's transaction for a Waste row documented after its record (the rest of an
# ampoule found on the tray). A waste written with the record goes out in the record's own
# message, so it sends nothing. Arguments: waste.
waste_recorded = Signal()
