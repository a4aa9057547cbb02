"""Make the CJK font the platform's PDFs embed: server_stub/assets/fonts/NotoSansSC-GB2312.ttf.

A subset of Noto Sans CJK SC Regular (SIL OFL 1.1) holding ASCII, the GB2312 character
set and a few signs (≥ ≤ ¥ …), converted from CFF to TrueType outlines: fpdf2 embeds a
TrueType font as Identity-H with a plain ToUnicode map, so every PDF reader (pypdf
included) extracts the text; CFF fonts get an embedded CMap that pypdf misreads.

    .venv/bin/python installer/make_cjk_font.py [/path/to/NotoSansCJK-Regular.ttc]
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_INDEX = 2  # Noto Sans CJK SC inside the collection
TARGET = Path(__file__).resolve().parents[1] / "server_stub/assets/fonts/NotoSansSC-GB2312.ttf"
EXTRA = "\u3000（）—…·≤≥¥￥×÷±‰℃№"


def gb2312_codepoints() -> set[int]:
    cps = set(range(0x20, 0x7F)) | {ord(c) for c in EXTRA}
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                cps.update(ord(c) for c in bytes([hi, lo]).decode("gb2312"))
    return cps


def to_truetype(font: TTFont) -> None:
    """Replace the CFF outlines with quadratic TrueType ones (cu2qu, 1 unit tolerance)."""
    order = font.getGlyphOrder()
    glyphs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attr in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    font.sfntVersion = "\x00\x01\x00\x00"


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    options = subset.Options()
    options.font_number = SC_INDEX
    options.layout_features = []
    options.hinting = False
    options.name_IDs = ["*"]
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=gb2312_codepoints())
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    # reloaded so that saving recomputes bounding boxes and maxp for the new outlines
    font = TTFont(io.BytesIO(buffer.getvalue()))
    to_truetype(font)
    tmp = TARGET.with_suffix(".tmp")
    font.save(str(tmp))
    tmp.replace(TARGET)
    print(f"{TARGET} {TARGET.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
