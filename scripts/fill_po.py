"""Fill a zh_Hans catalogue from a JSON dictionary {msgid: msgstr} and compile it.

Usage: python scripts/fill_po.py APP_DIR translations.json
Only empty entries are filled; existing translations are kept. Prints what is still missing."""

import json
import sys
from pathlib import Path

import polib


def main(app_dir: str, table_path: str) -> int:
    po_path = Path(app_dir) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    table = json.loads(Path(table_path).read_text(encoding="utf-8"))
    missing = []
    for entry in po:
        if "fuzzy" in entry.flags:
            # A fuzzy entry holds gettext's guess from a similar msgid: translate it afresh.
            entry.flags.remove("fuzzy")
            entry.msgstr = ""
            entry.msgstr_plural = {0: ""} if entry.msgid_plural else {}
            entry.previous_msgid = None
            entry.previous_msgctxt = None
        if entry.msgid_plural:
            if not entry.msgstr_plural.get(0):
                value = table.get(entry.msgid_plural) or table.get(entry.msgid)
                if value:
                    entry.msgstr_plural = {0: value}
                else:
                    missing.append(entry.msgid)
        elif not entry.msgstr:
            if entry.msgid in table:
                entry.msgstr = table[entry.msgid]
            else:
                missing.append(entry.msgid)
    po.metadata["Language"] = "zh_Hans"
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save(str(po_path))
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    for msgid in missing:
        print("MISSING:", repr(msgid))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
