"""The readable review of payroll: the kinds of warnings and their sentences (`warnings`), a run's
warnings grouped for review (`grouping`), payslip lines' sources as sentences (`sentences`), and
the funding-source report per month and township (`funding`)."""
