from django.urls import path

from scanning.web import views

app_name = "cart"
urlpatterns = [
    path("", views.cart_terminal, name="terminal"),
    path("login/", views.cart_login, name="login"),
    path("logout/", views.cart_logout, name="logout"),
    path("release/", views.cart_release, name="release"),
]
