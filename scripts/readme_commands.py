#!/usr/bin/env python3
"""Runs every `diffuscope …` command the README shows, as printed, so the README cannot drift.

    python3 scripts/readme_commands.py [--bin target/release/diffuscope] [--window]

Each command runs in a fresh temporary folder (so its outputs go there) and must exit with status 0
and write every file it names (`--out`, `--gif`, `--png`, `--png-dir`). A few are slow by design
(a training run, the benchmarks of whole sampling runs); those run with the reductions in
`REDUCTIONS` below, which only shorten the work, never change what is exercised. `PATH` in a command
stands for a photo of the user's: the bundled cat is used; `PIPELINE_FOLDER` for a diffusers pipeline
folder of the user's: the shipped example `assets/models/digits-diffusers` is used.

Window commands (no subcommand) need a display: with `--window` each is started and must still be
running after WINDOW_SECS (then it is stopped); without it they are listed as not run. CI runs this
script with the release binary under Xvfb (`.ci/run`). `tests/readme_commands.rs` checks in
`cargo test` that every command at least parses.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
CAT = os.path.join(ROOT, "assets", "images", "chelsea.png")
PIPELINE = os.path.join(ROOT, "assets", "models", "digits-diffusers")
WINDOW_SECS = 20
# (pattern a command must match, substitution on its words, why) — work shortened, not changed.
REDUCTIONS = [
    (r"^diffuscope train\b", (r"--steps \d+", "--steps 20"), "a real run takes minutes"),
    (r"^diffuscope bench sample$", (r"$", " --quick"), "DDPM-1000 runs take a minute or more"),
    (r"^diffuscope eval\b", (r"--samples \d+", "--samples 20"), "hundreds of samples per point take minutes"),
]
OUTPUT_FLAGS = ("--out", "--gif", "--png", "--png-dir", "--csv", "--chart", "--strip")


def readme_commands():
    """The `diffuscope …` lines of the README's code blocks, without trailing comments."""
    commands, in_code = [], False
    with open(README, encoding="utf-8") as readme:
        for line in readme:
            if line.lstrip().startswith("```"):
                in_code = not in_code
                continue
            command = line.split(" # ")[0].strip()
            if in_code and (command == "diffuscope" or command.startswith("diffuscope ")):
                commands.append(command)
    return commands


def reduced(command):
    for pattern, (old, new), why in REDUCTIONS:
        if re.search(pattern, command):
            return re.sub(old, new, command, count=1), why
    return command, None


def outputs(words):
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w in OUTPUT_FLAGS]


def is_window(words):
    return len(words) == 1 or words[1].startswith("--") and words[1] not in ("--help", "--version")


def run_window(words, folder):
    process = subprocess.Popen(words, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=WINDOW_SECS)
        return False, f"the window ended by itself (status {process.returncode}):\n{output.decode()}"
    except subprocess.TimeoutExpired:
        process.terminate()
        process.communicate()
        return True, f"still open after {WINDOW_SECS} s"


def run_command(words, folder):
    done = subprocess.run(words, cwd=folder, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        return False, f"status {done.returncode}:\n{done.stdout}{done.stderr}"
    missing = [o for o in outputs(words) if not os.path.exists(os.path.join(folder, o))]
    if missing:
        return False, f"did not write {missing}"
    return True, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "ok"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "diffuscope"))
    parser.add_argument("--window", action="store_true", help="also start the window commands")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    failures = 0
    for printed in readme_commands():
        command, why = reduced(printed)
        words = shlex.split(
            command.replace(" PATH ", f" {CAT} ").replace(" PIPELINE_FOLDER ", f" {PIPELINE} ")
        )
        words[0] = binary
        # Files the README names inside the source folder (the example scheduler config).
        words = [os.path.join(ROOT, word) if word.startswith("assets/") else word for word in words]
        label = printed + (f"   [run as: {command}: {why}]" if why else "")
        if is_window(words) and not args.window:
            print(f"-- not run (window; use --window): {label}")
            continue
        with tempfile.TemporaryDirectory() as folder:
            start = time.monotonic()
            ok, detail = (run_window if is_window(words) else run_command)(words, folder)
            secs = time.monotonic() - start
        print(f"{'ok  ' if ok else 'FAIL'} {secs:7.1f} s  {label}\n      {detail}", flush=True)
        failures += not ok
    if failures:
        print(f"{failures} README command(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
