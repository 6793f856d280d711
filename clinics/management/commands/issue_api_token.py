"""`manage.py issue_api_token USERNAME [--days N] [--rotate [--grace-hours H]]`: for an operator on
the server, a new API token for a terminal account (role api_client), printed once. With --rotate
the account's newest token stops working after the grace period (default
API_TOKEN_ROTATION_GRACE_HOURS; 0: at once). Audited like the admin page (actor: none, the
server)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from knox.models import AuthToken

from clinics.api_tokens import api_token_issue, api_token_rotate


class Command(BaseCommand):
    help = "Issue (or rotate) the API token of a terminal account; the token is printed once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=settings.API_TOKEN_TTL_DAYS)
        parser.add_argument("--rotate", action="store_true", help="Retire the account's newest token after the grace period.")
        parser.add_argument("--grace-hours", type=int, default=settings.API_TOKEN_ROTATION_GRACE_HOURS)
        parser.add_argument("--reason", default="manage.py issue_api_token")

    def handle(self, *args, username, days, rotate, grace_hours, reason, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account {username!r}.")
        try:
            with transaction.atomic():
                if rotate:
                    newest = AuthToken.objects.filter(user=user).order_by("-created").values_list("digest", flat=True).first()
                    if newest is None:
                        raise CommandError(f"{username} has no token to rotate; issue one without --rotate.")
                    issued = api_token_rotate(digest=newest, days=days, grace_hours=grace_hours, acting_user=None, reason=reason)
                else:
                    issued = api_token_issue(user_id=user.pk, days=days, acting_user=None, reason=reason)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(issued.plain)
        self.stderr.write(
            f"Token for {username}, valid until {issued.row.expiry:%Y-%m-%d %H:%M %Z}. "
            "It is shown only now: put it in the terminal's setting (Authorization: Bearer <token>)."
        )

