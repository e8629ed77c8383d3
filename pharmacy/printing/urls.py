"""Print views (PDF label stock, downtime MAR), mounted inside the pharmacy site at /pharmacy/print/."""

urlpatterns: list = []
