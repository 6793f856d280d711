"""Income tax beyond the monthly cumulative withholding (issue 14): special additional deductions
(`deductions`: the rows, entered or imported, and the year-to-date figures the calculation and the
payslip read), the annual one-off bonus taxed separately (`bonus`: the dated rule and the method),
and the monthly withholding filing for the tax client (`filing`: the 扣缴端 import workbook).

The tax itself is computed by the income-tax pay component (`staffing.payroll.components.income_tax`),
which reads this package's rules."""
