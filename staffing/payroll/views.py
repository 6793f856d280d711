"""The village doctor's own payslips on the phone portal."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from staffing.payroll import exports
from staffing.payroll.selectors import payslip_get, payslip_list, year_to_date


def _own_doctor(request):
    doctor = getattr(request.user, "doctor", None)
    if doctor is None:
        raise Http404
    return doctor


@login_required
def payslip_index(request):
    doctor = _own_doctor(request)
    slips = list(payslip_list(user=request.user).filter(doctor=doctor)[:24])
    year = slips[0].month.year if slips else None
    ytd = year_to_date(doctor_id=doctor.pk, year=year, user=request.user) if year else None
    return render(request, "payroll/payslip_list.html", {"slips": slips, "ytd": ytd, "doctor": doctor})


def _own_payslip(request, pk):
    _own_doctor(request)
    slip = payslip_get(user=request.user, pk=pk)
    if slip is None:
        raise Http404
    return slip


@login_required
def payslip_detail(request, pk):
    slip = _own_payslip(request, pk)
    return render(request, "payroll/payslip_detail.html", {"slip": slip, "lines": slip.lines.all()})


@login_required
def payslip_pdf(request, pk):
    slip = _own_payslip(request, pk)
    response = HttpResponse(exports.payslips_pdf([slip]), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{exports.payslip_filename(slip)}"'
    return response
