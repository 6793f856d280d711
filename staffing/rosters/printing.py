"""Printed rosters (A4 PDF, in Chinese): one clinic's month to post on the clinic door (each day,
its kind and holiday, who is on duty), and a township's month on landscape A4 (every clinic's
doctors by day). Both are drawn from `staffing.rosters.grid`, so they show what the grid shows."""

import io
from html import escape

from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.pdf import cjk_font
from staffing.rosters.grid import (
    HOLIDAY,
    MAKEUP_WORKDAY,
    WEEKEND,
    GridClinic,
    RosterGrid,
    cell_mark,
    day_label,
    kind_labels,
    marks,
    month_label,
)

# Print-friendly shades of the grid's colours (a grey-scale printer still tells them apart).
SHADES = {
    WEEKEND: colors.HexColor("#e3ecf7"),
    HOLIDAY: colors.HexColor("#f9dcdc"),
    MAKEUP_WORKDAY: colors.HexColor("#fbefc9"),
}
PDF = "application/pdf"


def _styles() -> dict:
    font = cjk_font()
    return {
        "font": font,
        "title": ParagraphStyle("title", fontName=font, fontSize=17, leading=23, spaceAfter=2),
        "small": ParagraphStyle("small", fontName=font, fontSize=8, leading=11, textColor=colors.HexColor("#444444")),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=10, leading=13),
        "tiny": ParagraphStyle("tiny", fontName=font, fontSize=6.5, leading=8),
    }


def _status(clinic: GridClinic) -> str:
    if clinic.roster is None:
        return _("not planned")
    return str(clinic.roster.get_status_display())


def _duty_text(clinic: GridClinic, day) -> str:
    names = []
    for duty in clinic.on_duty(day):
        label = duty.get_duty_display()
        if duty.source == duty.Source.COVER:
            label = _("cover")
        names.append(f"{duty.doctor.name}（{label}）")
    gap = clinic.gaps.get(day)
    if not names and gap is not None:
        return _("nobody (gap)")
    return "、".join(names)


def _document(buffer, *, pagesize, title: str):
    return SimpleDocTemplate(
        buffer, pagesize=pagesize, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
        title=title, author=_("Cunyi"),
    )


def clinic_roster_pdf(grid: RosterGrid, clinic: GridClinic) -> bytes:
    """One clinic's month on portrait A4: a row a day with its weekday, kind (the holiday named)
    and who is on duty."""
    styles = _styles()
    labels = kind_labels()
    month = month_label(grid.month)
    title = _("%(clinic)s duty roster, %(month)s") % {"clinic": clinic.facility.name, "month": month}
    story = [
        Paragraph(escape(title), styles["title"]),
        Paragraph(escape(_("%(township)s · roster status: %(status)s") % {"township": grid.township.name, "status": _status(clinic)}),
                  styles["small"]),
        Spacer(1, 3 * mm),
    ]
    rows = [[_("Date"), _("Weekday"), _("Kind of day"), _("On duty")]]
    shading = []
    for n, day in enumerate(grid.days, 1):
        kind = labels[day.kind] + (f"（{day.name}）" if day.name else "")
        rows.append([
            day_label(day.date),
            str(WEEKDAYS_ABBR[day.date.weekday()]),
            Paragraph(escape(kind), styles["cell"]),
            Paragraph(escape(_duty_text(clinic, day.date)), styles["cell"]),
        ])
        if day.kind in SHADES:
            shading.append(("BACKGROUND", (0, n), (-1, n), SHADES[day.kind]))
    table = Table(rows, colWidths=[24 * mm, 18 * mm, 48 * mm, 96 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), styles["font"]),
        ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8a96a3")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6f0")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        *shading,
    ]))
    story.append(table)
    story.append(Spacer(1, 3 * mm))
    story.append(Paragraph(escape(_footer(grid)), styles["small"]))
    buffer = io.BytesIO()
    _document(buffer, pagesize=A4, title=title).build(story)
    return buffer.getvalue()


def _footer(grid: RosterGrid) -> str:
    labels = kind_labels()
    named = "；".join(
        f"{day_label(first.date)}{'–' + day_label(last.date) if last.date != first.date else ''} {first.name}（{labels[first.kind]}）"
        for first, last in grid.holiday_spans
    )
    text = _("Day duty: 8 hours at the clinic on a workday. On call: the clinic's doctor on duty on a weekend day or public holiday.")
    if named:
        text += " " + _("Holidays and make-up workdays this month: %(days)s.") % {"days": named}
    return text


def township_roster_pdf(grid: RosterGrid) -> bytes:
    """Every clinic of the township on landscape A4: a row per doctor (grouped by clinic), a
    column per day shaded by its kind, the mark of each duty or leave."""
    styles = _styles()
    month = month_label(grid.month)
    title = _("%(township)s duty rosters, %(month)s") % {"township": grid.township.name, "month": month}
    mark = marks()
    legend = _("Marks: %(day)s day duty, %(call)s on call, %(cover)s cover from another clinic, %(leave)s approved leave, "
               "%(gap)s nobody on duty (gap).") % {
        "day": mark["day"], "call": mark["on_call"], "cover": mark["cover"], "leave": mark["leave"], "gap": mark["gap"],
    }
    story = [Paragraph(escape(title), styles["title"]), Paragraph(escape(legend), styles["small"]), Spacer(1, 2 * mm)]
    header = [_("Clinic"), _("Doctor")] + [
        Paragraph(f"{d.date.day}<br/>{escape(str(WEEKDAYS_ABBR[d.date.weekday()]))}", styles["tiny"]) for d in grid.days
    ]
    rows = [header]
    commands = []
    for clinic in grid.clinics:
        first = len(rows)
        for index, row in enumerate(clinic.doctors or [None]):
            name = clinic.facility.name if index == 0 else ""
            if row is None:
                rows.append([Paragraph(escape(name), styles["tiny"]), _("no doctor")] + [""] * len(grid.days))
                continue
            cells = [cell_mark(c, pending=False) for c in row.cells]
            rows.append([Paragraph(escape(name), styles["tiny"]), Paragraph(escape(row.name), styles["tiny"])] + cells)
        gaps = clinic.open_gap_days()
        if gaps:
            rows.append(["", Paragraph(escape(_("gap")), styles["tiny"])]
                        + [mark["gap"] if d.date in gaps else "" for d in grid.days])
        commands.append(("LINEABOVE", (0, first), (-1, first), 0.9, colors.HexColor("#44546a")))
    for n, day in enumerate(grid.days):
        if day.kind in SHADES:
            commands.append(("BACKGROUND", (n + 2, 0), (n + 2, -1), SHADES[day.kind]))
    day_width = (277 - 34 - 20) * mm / max(len(grid.days), 28)
    table = Table(rows, colWidths=[34 * mm, 20 * mm] + [day_width] * len(grid.days), repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), styles["font"]),
        ("FONTSIZE", (0, 0), (-1, -1), 7),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9aa5b1")),
        ("ALIGN", (2, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("LEFTPADDING", (2, 0), (-1, -1), 0.5),
        ("RIGHTPADDING", (2, 0), (-1, -1), 0.5),
        *commands,
    ]))
    story.append(table)
    story.append(Spacer(1, 2 * mm))
    story.append(Paragraph(escape(_footer(grid)), styles["small"]))
    buffer = io.BytesIO()
    _document(buffer, pagesize=landscape(A4), title=title).build(story)
    return buffer.getvalue()
