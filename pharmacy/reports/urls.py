"""Report views, mounted inside the pharmacy site at /pharmacy/reports/."""

urlpatterns: list = []
