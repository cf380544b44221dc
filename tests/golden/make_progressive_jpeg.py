#!/usr/bin/env python3
"""Writes tests/golden/progressive.jpg, the progressive JPEG of tests/image_loading.rs.

    python3 tests/golden/make_progressive_jpeg.py      (needs Pillow: pip install pillow)

The `image` crate only writes baseline JPEGs, so this one comes from Pillow (libjpeg). The picture
is 64 x 48 pixels: red rises from left to right, green from top to bottom, blue is 128, so a test
can tell a decoded bottom row from the grey a decoder fills in when the file is cut short. The
file is progressive (several scans, each refining the whole picture), so a file cut after the
first scans still decodes to a blurry whole picture without any error from the decoder.
"""
import pathlib

from PIL import Image

WIDTH, HEIGHT = 64, 48


def main() -> None:
    image = Image.new("RGB", (WIDTH, HEIGHT))
    image.putdata(
        [
            (x * 255 // (WIDTH - 1), y * 255 // (HEIGHT - 1), 128)
            for y in range(HEIGHT)
            for x in range(WIDTH)
        ]
    )
    out = pathlib.Path(__file__).with_name("progressive.jpg")
    image.save(out, "JPEG", quality=90, progressive=True, optimize=True, subsampling=0)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
