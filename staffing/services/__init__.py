"""Writes to the doctor register, one module per sub-domain. Each service validates, saves in one
transaction and audits; reach is checked before and after every change (clinics.scoping,
staffing.reach): a township admin changes only the doctors whose posting in force is in the
township, posts them only to its clinics, and a transfer between townships is the county's.

- `doctors`: register and change a doctor (doctor_create, doctor_update, doctor_mark_demo,
  doctor_rehash_id_numbers); a bank-account change is handed to `staffing.bank_accounts`.
- `postings`: posting_move, posting_close (and their *_check), register_posting_end_guard.
- `logins`: doctor_link_user (and its check), doctor_logins_sync.

Import a service from its module: `from staffing.services.postings import posting_move`.
"""
