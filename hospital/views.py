from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_safe


def home(request):
    """Nurses land on the cart; everyone else on the pharmacy site."""
    user = request.user
    if user.is_authenticated and not user.may_administer:
        return redirect("pharmacy:index")
    return redirect("cart:terminal")


@require_safe
def healthz(request):
    """The load balancer's check (deploy/haproxy/haproxy.cfg): this process serves requests. No
    database and no data: a database failover must not take every app server out of rotation."""
    return HttpResponse("ok\n", content_type="text/plain", headers={"Cache-Control": "no-store"})
