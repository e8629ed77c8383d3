"""The ward dashboard, mounted at /dashboard/ (charge nurses, pharmacists, administrators)."""

urlpatterns: list = []
