"""Payroll outputs: payslip PDFs in Chinese, the bank transfer file, the summary by township,
clinic and component, and the chart of monthly totals."""

import io
import zipfile
from decimal import Decimal
from html import escape

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.charts import Chart, Series
from core.pdf import cjk_font
from core.tabular import AUTO, INT, MONEY, TEXT, csv_text, xlsx_bytes
from staffing.payroll import components
from staffing.payroll.models import FundingSource, PayRun, Payslip, PayslipLine, PayslipLineFunding
from staffing.payroll.money import yuan as money_yuan
from staffing.payroll.review.sentences import line_sentence
from staffing.payroll.selectors import run_summary


def pdf_font() -> str:
    """The font payslips draw Chinese with (`core.pdf.cjk_font`, shared with the printed rosters)."""
    return cjk_font()


def yuan(value: Decimal) -> str:
    """The one money display form (staffing.payroll.money.yuan): 545,600.00."""
    return money_yuan(value)


def _quantity(line: PayslipLine) -> str:
    text = f"{line.quantity.normalize():f}"
    return text


def _rate(line: PayslipLine) -> str:
    rate = line.rate.normalize()
    return f"{rate:f}" if rate != rate.to_integral() else f"{rate:.2f}"


def _source_text(line: PayslipLine) -> str:
    """The line's source as the sentence the payslip pages show (staffing.payroll.review.sentences)."""
    return line_sentence(line)


def _payslip_story(slip: Payslip, styles: dict) -> list:
    lines = list(slip.lines.all())
    title = _("Village doctor payslip %(year)d-%(month)02d") % {"year": slip.month.year, "month": slip.month.month}
    story = [
        Paragraph(escape(title), styles["title"]),
        Paragraph(escape(_("Leye County Health Bureau")) + "　" + escape(_("Run: %(run)s (%(status)s)") % {"run": slip.run, "status": slip.run.get_status_display()}), styles["small"]),
        Spacer(1, 3 * mm),
    ]
    facts = [
        [pgettext("payroll", "Name"), str(slip.doctor), pgettext("payroll", "Clinic"), slip.facility.name],
        [pgettext("payroll", "Township"), slip.township.name if slip.township else "", pgettext("payroll", "Payable days"), f"{slip.payable_days} / {slip.days_in_month}"],
        [pgettext("payroll", "Bank"), slip.bank_name, pgettext("payroll", "Account"), slip.doctor.bank_account_masked],
    ]
    story.append(_table(facts, [22 * mm, 60 * mm, 22 * mm, 76 * mm], styles, header=False))
    story.append(Spacer(1, 4 * mm))
    rows = [[pgettext("payroll", "Item"), pgettext("payroll", "Quantity"), pgettext("payroll", "Rate"), pgettext("payroll", "Amount"), pgettext("payroll", "Source")]]
    for line in lines:
        sign = "" if line.kind == PayslipLine.Kind.EARNING else "-"
        num = styles["num"]
        label = line.description
        rows.append([
            Paragraph(escape(label), styles["cell"]),
            Paragraph(_quantity(line), num),
            Paragraph(_rate(line), num),
            Paragraph(sign + yuan(line.amount), num),
            Paragraph(escape(_source_text(line)), styles["cell_small"]),
        ])
    num = styles["num"]
    rows += [
        [pgettext("payroll", "Gross pay"), "", "", Paragraph(yuan(slip.gross), num), ""],
        [pgettext("payroll", "Deductions"), "", "", Paragraph("-" + yuan(slip.deductions), num), ""],
        [pgettext("payroll", "Net pay"), "", "", Paragraph("<b>" + yuan(slip.net) + "</b>", num), ""],
    ]
    table = _table(rows, [58 * mm, 16 * mm, 20 * mm, 24 * mm, 62 * mm], styles)
    table.setStyle(TableStyle([("ALIGN", (1, 1), (3, -1), "RIGHT"), ("BACKGROUND", (0, -3), (-1, -1), colors.HexColor("#f2f5f9"))]))
    story.append(table)
    story.append(Spacer(1, 3 * mm))
    demo = slip.doctor.is_demo or any(line.policy_id and line.policy.is_demo for line in lines)
    note = _("Every amount is rounded to the cent (half up); totals are the sums of the lines.")
    if demo:
        note += " " + _("Demo data: the name, account and policy amounts are synthetic demo values.")
    story.append(Paragraph(escape(note), styles["small"]))
    return story


def _table(rows, widths, styles, header=True) -> Table:
    font = styles["font"]
    data = [[cell if not isinstance(cell, str) else Paragraph(escape(cell), styles["cell"]) for cell in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1 if header else 0)
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6f0")))
    table.setStyle(TableStyle(commands))
    return table


def _styles() -> dict:
    font = pdf_font()
    return {
        "font": font,
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=2),
        "small": ParagraphStyle("small", fontName=font, fontSize=8, leading=11, textColor=colors.HexColor("#444444")),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=9, leading=12),
        "num": ParagraphStyle("num", fontName=font, fontSize=9, leading=12, alignment=TA_RIGHT),
        "cell_small": ParagraphStyle("cell_small", fontName=font, fontSize=7, leading=9),
    }


def payslips_queryset(run: PayRun):
    return (
        Payslip.objects.filter(run=run)
        .select_related("doctor", "facility", "township", "run")
        .prefetch_related(Prefetch("lines", queryset=PayslipLine.objects.select_related("policy__township").order_by("position", "id")))
        .order_by("township__code", "facility__code", "doctor__name", "id")
    )


def payslips_pdf(slips, progress=None) -> bytes:
    """One PDF, one page per payslip. `progress(done, total=None, note="")` (a job's) hears the
    pages laid out."""
    slips = list(slips)
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                            title=_("Payslips"), author="Cunyi")
    story = []
    for index, slip in enumerate(slips):
        if index:
            story.append(PageBreak())
        story.extend(_payslip_story(slip, styles))
    if not story:
        story.append(Paragraph(escape(_("This run has no payslips.")), styles["cell"]))
    note = _("Laying out the payslips") if progress is not None else ""

    def page_done(canvas, document):
        if progress is not None and slips:
            progress(min(document.page, len(slips)), total=len(slips), note=note)

    doc.build(story, onFirstPage=page_done, onLaterPages=page_done)
    return buffer.getvalue()


def payslip_filename(slip: Payslip) -> str:
    return f"payslip-{slip.month:%Y-%m}-{slip.doctor_id}.pdf"


def payslips_zip(slips, progress=None) -> bytes:
    slips = list(slips)
    buffer = io.BytesIO()
    note = _("Writing one PDF per payslip") if progress is not None else ""
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for done, slip in enumerate(slips, 1):
            archive.writestr(payslip_filename(slip), payslips_pdf([slip]))
            if progress is not None:
                progress(done, total=len(slips), note=note)
    return buffer.getvalue()


# --- Tables --------------------------------------------------------------------------------------


def summary_rows(run: PayRun) -> tuple[list[str], list[list]]:
    """Per clinic with a subtotal per township and a grand total; one column per component."""
    clinics = run_summary(run=run)
    used = [c.code for c in components.all_components() if any(c.code in row["components"] for row in clinics)]
    headers = [pgettext("payroll", "Township"), pgettext("payroll", "Clinic"), pgettext("payroll", "Clinic code"), pgettext("payroll", "Doctors")] + [components.label(c) for c in used] + [pgettext("payroll", "Gross pay"), pgettext("payroll", "Deductions"), pgettext("payroll", "Net pay")]

    def line(township, clinic, code, doctors, components, gross, deductions, net):
        return [township, clinic, code, doctors] + [f"{components.get(c, Decimal('0')):.2f}" for c in used] + [f"{gross:.2f}", f"{deductions:.2f}", f"{net:.2f}"]

    rows = []
    grand = {"doctors": 0, "components": {}, "gross": Decimal("0"), "deductions": Decimal("0"), "net": Decimal("0")}
    by_township: dict = {}
    for clinic in clinics:
        by_township.setdefault(clinic["township"], []).append(clinic)
    for township, members in by_township.items():
        subtotal = {"doctors": 0, "components": {}, "gross": Decimal("0"), "deductions": Decimal("0"), "net": Decimal("0")}
        for clinic in members:
            rows.append(line(township, clinic["clinic"], clinic["code"], clinic["doctors"], clinic["components"], clinic["gross"], clinic["deductions"], clinic["net"]))
            for bucket in (subtotal, grand):
                bucket["doctors"] += clinic["doctors"]
                for key in ("gross", "deductions", "net"):
                    bucket[key] += clinic[key]
                for c, amount in clinic["components"].items():
                    bucket["components"][c] = bucket["components"].get(c, Decimal("0")) + amount
        rows.append(line(township, pgettext("payroll", "Township subtotal"), "", subtotal["doctors"], subtotal["components"], subtotal["gross"], subtotal["deductions"], subtotal["net"]))
    rows.append(line(pgettext("payroll", "Total"), "", "", grand["doctors"], grand["components"], grand["gross"], grand["deductions"], grand["net"]))
    return headers, rows


def summary_kinds(headers: list[str]) -> list[str]:
    """Township, clinic, clinic code (text), doctors (int), then one money column per amount."""
    return [AUTO, AUTO, TEXT, INT] + [MONEY] * (len(headers) - 4)


def summary_csv(run: PayRun) -> str:
    headers, rows = summary_rows(run)
    return csv_text(headers, rows, kinds=summary_kinds(headers))


def summary_xlsx(run: PayRun) -> bytes:
    headers, rows = summary_rows(run)
    return xlsx_bytes(headers, rows, sheet_title=f"{run.month:%Y-%m}", kinds=summary_kinds(headers))


def funding_rows(run: PayRun) -> list[tuple[str, Decimal]]:
    """Earnings per funding source (each line's split summed), in source order."""
    from django.db.models import Sum

    rows = (
        PayslipLineFunding.objects.filter(line__payslip__run=run, line__kind=PayslipLine.Kind.EARNING)
        .values("source").annotate(amount=Sum("amount")).order_by("source")
    )
    labels = dict(FundingSource.choices)
    return [(labels.get(r["source"], r["source"]), r["amount"]) for r in rows]


# --- Chart ---------------------------------------------------------------------------------------


def monthly_chart(series: list[tuple]) -> Chart:
    """Stacked bars of each month's earnings by component (core.charts: inline SVG, no scripts,
    with its data table as the text equivalent). `series`: [(month, {component: signed total})]."""
    used = [code for code in components.earning_codes() if any(comps.get(code) for _m, comps in series)]
    return Chart(
        key="payroll-monthly",
        title=_("Monthly totals by component"),
        categories=[f"{month:%y-%m}" for month, _comps in series],
        series=[Series(components.label(code), [comps.get(code, Decimal("0")) for _m, comps in series]) for code in used],
        unit="yuan",
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The run's exports, one home for the admin's download and its job: kind -> (build(run, progress),
# content type, file name with {month}).
RUN_EXPORTS = {
    "summary-csv": (lambda run, progress=None: summary_csv(run), "text/csv; charset=utf-8", "payroll-summary-{month}.csv"),
    "summary-xlsx": (lambda run, progress=None: summary_xlsx(run), XLSX, "payroll-summary-{month}.xlsx"),
    "pdf": (lambda run, progress=None: payslips_pdf(payslips_queryset(run), progress=progress), "application/pdf", "payslips-{month}.pdf"),
    "zip": (lambda run, progress=None: payslips_zip(payslips_queryset(run), progress=progress), "application/zip", "payslips-{month}.zip"),
}


def run_export(run: PayRun, kind: str, progress=None) -> tuple[bytes, str, str]:
    """(content, content type, file name) of one of the run's exports."""
    build, content_type, name = RUN_EXPORTS[kind]
    content = build(run, progress=progress)
    return (content.encode("utf-8") if isinstance(content, str) else content), content_type, name.format(month=f"{run.month:%Y-%m}")
