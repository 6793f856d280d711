"""The font PDFs draw Chinese with (payslips, printed rosters): one rule for every PDF."""

import subprocess
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

FONT_NAME = "CunyiCJK"
FONT_CANDIDATES = ["/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"]
CID_FALLBACK = "STSong-Light"


def _fc_list_fonts() -> list[str]:
    """TrueType CJK fonts fontconfig knows (ReportLab cannot embed CFF-outline OpenType fonts)."""
    try:
        output = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in output.splitlines() if line.strip().lower().endswith((".ttf", ".ttc"))})


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """Register and return a font that draws Chinese: an embedded TrueType font when one is
    installed (WenQuanYi Zen Hei, or another TrueType CJK font fontconfig lists), else the CID
    font STSong-Light, which is not embedded (the viewer supplies the glyphs)."""
    for path in FONT_CANDIDATES + _fc_list_fonts():
        try:
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0) if path.endswith(".ttc") else TTFont(FONT_NAME, path))
            return FONT_NAME
        except Exception:  # noqa: BLE001 - a font file ReportLab cannot read: try the next one
            continue
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return CID_FALLBACK
