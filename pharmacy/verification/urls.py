"""The order verification queue, mounted inside the pharmacy site at /pharmacy/verify/."""

urlpatterns: list = []
