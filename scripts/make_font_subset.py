#!/usr/bin/env python3
"""Builds the two font subsets the program ships in assets/fonts/.

- NotoSansSC-Diffuscope.otf: every non-ASCII character in src/ that Noto Sans CJK SC has (all the
  Chinese of the string table and error sentences, and punctuation such as "·" that captions of
  exported GIFs use), plus printable ASCII. Source: Noto Sans CJK SC Regular
  (SIL Open Font License 1.1), from Debian's `fonts-noto-cjk`.
- DejaVuSans-Diffuscope.ttf: every other non-ASCII character in src/ (Greek such as ᾱ and ε,
  √, −, ×, arrows, dashes), plus printable ASCII. Source: DejaVu Sans (Bitstream Vera licence with
  DejaVu changes, public domain), from Debian's `fonts-dejavu-core`.

egui's own fonts come first; these two are fallbacks, so the Chinese interface and the formulas never
show a missing glyph. tests/font_coverage.rs checks that. Run after changing any text:

    apt-get install fonts-noto-cjk fonts-dejavu-core && pip install fonttools==4.*
    python3 scripts/make_font_subset.py
"""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
FIRST_CJK = 0x2E80

FONTS = [
    # (source, font number in a collection, output, which characters)
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        2,  # "Noto Sans CJK SC" in the collection
        "assets/fonts/NotoSansSC-Diffuscope.otf",
        lambda c: True,  # fontTools keeps only the characters the font has
    ),
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        0,
        "assets/fonts/DejaVuSans-Diffuscope.ttf",
        lambda c: 0x7F < ord(c) < FIRST_CJK,
    ),
]


def source_characters() -> set[str]:
    chars = set()
    for path in (ROOT / "src").rglob("*.rs"):
        chars.update(c for c in path.read_text(encoding="utf-8") if ord(c) > 0x7F and not c.isspace())
    return chars


def main() -> int:
    chars = source_characters()
    for source, number, out, wanted in FONTS:
        text = ASCII + "".join(sorted(c for c in chars if wanted(c)))
        target = ROOT / out
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable, "-m", "fontTools.subset", source, f"--font-number={number}",
                f"--text={text}", f"--output-file={target}", "--layout-features=*",
                "--no-hinting", "--desubroutinize", "--name-IDs=*", "--notdef-outline",
            ],
            check=True,
        )
        print(f"{out}: {target.stat().st_size} bytes, {len(set(text))} characters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
