"""Start-up checks of the teleconsult video settings: a Jitsi server named without the secret
or the app id its tokens need would hand out links that never open."""

from django.core.checks import Error, Warning, register

from telemedicine import conf


@register()
def jitsi_settings_check(app_configs=None, **kwargs):
    jitsi = conf.jitsi()
    if jitsi is None:
        return []
    problems = []
    if not jitsi.app_secret:
        problems.append(
            Error(
                "JITSI_BASE_URL is set but JITSI_APP_SECRET is empty: room tokens cannot be signed.",
                hint="Set JITSI_APP_SECRET to the prosody app_secret of the Jitsi deployment, or unset JITSI_BASE_URL.",
                id="telemedicine.E001",
            )
        )
    elif len(jitsi.app_secret) < 32:
        problems.append(
            Warning(
                "JITSI_APP_SECRET is shorter than 32 characters; a short HS256 secret can be guessed offline from one token.",
                id="telemedicine.W001",
            )
        )
    if not jitsi.app_id:
        problems.append(Error("JITSI_APP_ID is empty; prosody checks the token's issuer against app_id.", id="telemedicine.E002"))
    if not jitsi.base_url.startswith(("https://", "http://")):
        problems.append(Error("JITSI_BASE_URL must be an http(s) URL, e.g. https://meet.example.cn.", id="telemedicine.E003"))
    if not jitsi.sub:
        problems.append(Error("JITSI_SUB is empty and JITSI_BASE_URL names no host.", id="telemedicine.E004"))
    return problems
