from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from clinics.scoping import user_role
from core.portal import menu_for


@login_required
def portal_home(request):
    role = user_role(request.user)
    scope = getattr(request.user, "scope", None)
    return render(
        request,
        "portal/home.html",
        {"menu": menu_for(role), "scope": scope, "doctor": getattr(request.user, "doctor", None)},
    )
