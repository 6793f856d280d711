"""Writes to payroll, by sub-domain: `runs` (the pay run's lifecycle and calculation), `inputs`
(one-off items and assessments the officer enters), `policies` (policy versions, schemes, pay
profiles). Each service validates, saves in one transaction and audits."""

from staffing.payroll.services.inputs import assessment_save, one_off_item_delete, one_off_item_save
from staffing.payroll.services.policies import (
    insurance_scheme_save,
    pay_policy_parts_save,
    pay_policy_save,
    pay_profile_save,
    policy_in_locked_use,
)
from staffing.payroll.services.runs import (
    RUN_FLOW,
    payrun_approve,
    payrun_calculate,
    payrun_create,
    payrun_delete,
    payrun_export_record,
    payrun_mark_paid,
    payrun_warnings,
)

__all__ = [
    "RUN_FLOW", "assessment_save", "insurance_scheme_save", "one_off_item_delete", "one_off_item_save", "pay_policy_parts_save",
    "pay_policy_save", "pay_profile_save", "payrun_approve", "payrun_calculate", "payrun_create", "payrun_delete",
    "payrun_export_record", "payrun_mark_paid", "payrun_warnings", "policy_in_locked_use",
]
