"""Bank batch-payment files (代发工资): formats as data (`staffing.payroll.models.BankFileFormat`),
one file per paying bank plus a control sheet, the account checks that block a run's approval,
and payments the payroll officer marks as made outside the file.

- `accounts`: which accounts a bank file can pay.
- `render`: a format and its payees → the file's bytes (fixed-width widths in encoded bytes).
- `checks`: the run's blocking warnings (invalid account, a bank without a format).
- `selectors` / `services`: the runs a user may export, building the files and control sheet,
  marking payments outside the file, saving formats.
"""
