#!/usr/bin/env python3
"""Checks an animated GIF with Pillow, independently of the Rust code that wrote it.

    python3 tests/check_gif.py FILE [--frames N] [--width W] [--height H]
                                    [--delay-ms D] [--loop L]

Every frame is decoded (so a truncated file fails) and must not be of a single colour as Pillow
reads it (a palette Pillow misreads shows as a blank frame). Each option given is compared with the file:
--delay-ms with every frame's delay, --loop with the NETSCAPE loop count (0 = for ever, n = n
repeats after the first play, `none` = no loop extension, so the animation plays once).
Exits 0 when everything matches; otherwise prints one line per mismatch and exits 1 (2 when the
file cannot be read as a GIF at all).
"""
import argparse
import sys

from PIL import Image


def loop_count(text: str):
    if text.lower() == "none":
        return None
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("the loop count is 0..65535 or 'none'")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--frames", type=int)
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--delay-ms", type=int)
    parser.add_argument("--loop", type=loop_count, default=argparse.SUPPRESS,
                        help="NETSCAPE loop count: 0 = for ever, or 'none' (plays once)")
    args = parser.parse_args()

    problems = []
    try:
        image = Image.open(args.file)
        if image.format != "GIF":
            print(f"{args.file}: not a GIF but {image.format}", file=sys.stderr)
            return 2
        frames = getattr(image, "n_frames", 1)
        delays = []
        blank = []
        for index in range(frames):
            image.seek(index)
            image.load()  # decodes the frame: a truncated file fails here
            delays.append(image.info.get("duration"))
            extrema = image.convert("RGB").getextrema()
            if all(low == high for low, high in extrema):
                blank.append(index)
        loop = image.info.get("loop")
        width, height = image.size
    except (OSError, EOFError, SyntaxError) as error:
        print(f"{args.file}: cannot be read as a GIF: {error}", file=sys.stderr)
        return 2

    if blank:
        shown = ", ".join(str(i) for i in blank[:5])
        problems.append(f"frames of a single colour (blank as Pillow reads them): {shown}")
    if args.frames is not None and frames != args.frames:
        problems.append(f"{frames} frames, expected {args.frames}")
    if args.width is not None and width != args.width:
        problems.append(f"width {width}, expected {args.width}")
    if args.height is not None and height != args.height:
        problems.append(f"height {height}, expected {args.height}")
    if args.delay_ms is not None:
        wrong = [(i, d) for i, d in enumerate(delays) if d != args.delay_ms]
        if wrong:
            shown = ", ".join(f"frame {i}: {d} ms" for i, d in wrong[:5])
            more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
            problems.append(f"delay expected {args.delay_ms} ms; {shown}{more}")
    if hasattr(args, "loop") and loop != args.loop:
        def describe(value):
            return "no loop extension (plays once)" if value is None else f"loop count {value}"
        problems.append(f"{describe(loop)}, expected {describe(args.loop)}")

    for problem in problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{args.file}: {frames} frames of {width}×{height}, "
              f"delays {sorted(set(delays))} ms, loop {loop}: as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
