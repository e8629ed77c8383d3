"""Every ModelAdmin of the pharmacy site, one module per app whose models it shows. Django's
admin autodiscovery imports this package; importing the modules registers them."""

from backoffice.admin import hospital, interop, pharmacy, scanning, wards  # noqa: F401
