"""Which bank accounts a bank file can pay.

The rule (a decision, documented in the admin help and the report of issue 14):
- an account is 12 to 30 ASCII digits and nothing else (no spaces, no full-width digits, no
  letters): shorter numbers are no Chinese bank's account or card, 30 is the register's limit and
  ABC's field width;
- a 16–19 digit number starting with 62 is a UnionPay card; its Luhn check digit is checked only
  when PAYROLL_BANK_CARD_LUHN is on, because cards issued by some 农信 and 邮储 branches do not pass
  it and a refused valid card would stop a doctor's pay.
"""

from django.conf import settings

MIN_LENGTH, MAX_LENGTH = 12, 30

MISSING = "missing"
NOT_DIGITS = "not_digits"
LENGTH = "length"
CARD_CHECK = "card_check"


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def is_unionpay_card(number: str) -> bool:
    return number.startswith("62") and 16 <= len(number) <= 19


def account_problem(account: str | None) -> str | None:
    """None when a bank file can pay this account, else the problem's code."""
    account = account or ""
    if not account.strip():
        return MISSING
    if not (account.isascii() and account.isdigit()):
        return NOT_DIGITS
    if not MIN_LENGTH <= len(account) <= MAX_LENGTH:
        return LENGTH
    if settings.PAYROLL_BANK_CARD_LUHN and is_unionpay_card(account) and not luhn_valid(account):
        return CARD_CHECK
    return None
