from django.shortcuts import redirect


def home(request):
    """Nurses land on the cart; everyone else on the pharmacy site."""
    user = request.user
    if user.is_authenticated and not user.may_administer:
        return redirect("pharmacy:index")
    return redirect("cart:terminal")
