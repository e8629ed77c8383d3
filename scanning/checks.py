"""System checks for the scanning app."""

from django.core.checks import Tags, Warning, register

from scanning.barcodes import pyzbar_available


@register(Tags.compatibility)
def zbar_installed_check(app_configs, **kwargs):
    """Warn when the zbar fallback cannot run: images then decode with zxing-cpp alone."""
    if pyzbar_available():
        return []
    return [
        Warning(
            "pyzbar cannot load the zbar library, so blurred or damaged linear barcodes in "
            "camera images are read by zxing-cpp alone.",
            hint=("Install Debian's libzbar0: apt-get install --no-install-recommends libzbar0"),
            id="scanning.W001",
        )
    ]
