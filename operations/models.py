"""What the processes say about themselves: a worker writes its heartbeat here (the beat-scheduled
`operations.heartbeat` task), and the health checks read it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    component = models.CharField(_("component"), max_length=32, unique=True)
    at = models.DateTimeField(_("last seen"))
    host = models.CharField(_("host"), max_length=200, blank=True)

    class Meta:
        ordering = ["component"]
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self):
        return f"{self.component} {self.at:%Y-%m-%d %H:%M:%S}"
