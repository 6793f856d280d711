"""The family-doctor contract register (签约服务登记): each doctor's contracted residents per
service year, imported from the county's contract list, and the year's assessment score that pays
the contract service fee when the policy pays it by assessment.

- `models`: `ContractRegister` (one row per doctor per service year: counts, the list it came
  from, the assessment) and `ResidentContract` (one contracted resident, by keyed hash and masked
  ID only: the clear ID number is never stored).
- `importing`: the county's list (one row per resident contract) read with `core.tabular`,
  checked row by row, saved all or nothing.
- `services`: writes (import, assessment score), reach-checked and audited.
- `selectors`: reads scoped to the user's reach.
- `seeding`: the demo register of the Leye demo doctors.

A service year (签约服务年度) is the calendar year here: contracts signed for 2026 are paid over
January–December 2026 (monthly) or once the 2026 score is recorded (by assessment)."""
