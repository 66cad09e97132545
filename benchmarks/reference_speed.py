"""Transfer speed of a reference style (``--model reference``) as a ratio of a plain style's.

    GAN_STYLE_HOME=... python benchmarks/reference_speed.py --plain monet_default \
        --reference-style monet_ref --photos P1.jpg P2.jpg ... [--reference R.jpg] [--repeats 3]

Both styles paint the same photos in this one run (the machine is shared and noisy, so only
the ratios are meant to be compared across runs); the plain style is the reference, ratio 1.

1. **End to end**: ``gan-style transfer PHOTOS --style S --out TMP`` as a fresh process
   (start, loading, baking the code, every photo decoded, styled and written as PNG), for the
   plain style, the reference style with its collection's mean code, and, with
   ``--reference``, the reference style painting in the look of that image (its encoder loaded
   and run too). The runs alternate between the cases, ``--repeats`` rounds; the median
   seconds of each case are printed with their ratio to the plain style's.
2. **Loaded**, in this process: seconds to load each style, the faster of two loads (the
   first pays for TensorFlow's and Keras' first use; `gan_style.stylizer.Stylizer.load`: for a
   reference style, also reading its codes and folding the code into a plain generator),
   and seconds to style every photo with the loaded style (`transfer`), the faster of
   ``--repeats`` passes after one warm-up pass.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_command(photos: list[str], style: str, references: list[str], out: Path) -> float:
    """Seconds of one ``gan-style transfer`` process over ``photos``."""
    command = [sys.executable, "-m", "gan_style", "transfer", *photos, "--style", style]
    command += ["--out", str(out), "--format", "png", "--overwrite"]
    for reference in references:
        command += ["--reference", reference]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"error: {' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    return seconds


def loaded_seconds(photos: list[str], style: str, references: list[str], repeats: int):
    """(seconds to load the style, seconds to style every photo once loaded)."""
    from gan_style.stylizer import Stylizer
    from gan_style.transfer import transfer

    loads = []
    for _ in range(2):
        start = time.perf_counter()
        stylizer = Stylizer.load(style, references=tuple(references))
        loads.append(time.perf_counter() - start)
    load = min(loads)
    passes = []
    for _ in range(repeats + 1):  # the first pass traces the generator
        start = time.perf_counter()
        for photo in photos:
            transfer(photo, style=stylizer)
        passes.append(time.perf_counter() - start)
    return load, min(passes[1:])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", required=True, help="an unconditional style (the reference)")
    parser.add_argument("--reference-style", required=True, help="a --model reference style")
    parser.add_argument("--photos", nargs="+", required=True)
    parser.add_argument("--reference", default=None, help="a reference image for a third case")
    parser.add_argument("--repeats", type=int, default=3)
    arguments = parser.parse_args(argv)

    cases = {
        "plain": (arguments.plain, []),
        "reference style, mean code": (arguments.reference_style, []),
    }
    if arguments.reference:
        cases["reference style, --reference"] = (arguments.reference_style, [arguments.reference])

    print(f"{len(arguments.photos)} photos, {arguments.repeats} rounds, cases alternating")
    times: dict[str, list[float]] = {name: [] for name in cases}
    out = Path(tempfile.mkdtemp(prefix="gan-style-reference-speed-"))
    try:
        for _ in range(arguments.repeats):
            for name, (style, references) in cases.items():
                times[name].append(run_command(arguments.photos, style, references, out))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    plain = statistics.median(times["plain"])
    print("end to end (a fresh `gan-style transfer` process), median seconds:")
    for name, values in times.items():
        median = statistics.median(values)
        runs = ", ".join(f"{value:.1f}" for value in values)
        print(f"  {name:30s} {median:6.1f} s  ×{median / plain:.2f}   (runs: {runs})")

    print("loaded in this process: load s, styling s (all photos, best pass)")
    loaded = {
        name: loaded_seconds(arguments.photos, style, references, arguments.repeats)
        for name, (style, references) in cases.items()
    }
    plain_styling = loaded["plain"][1]
    for name, (load, styling) in loaded.items():
        print(
            f"  {name:30s} load {load:5.2f} s  styling {styling:6.1f} s  "
            f"×{styling / plain_styling:.2f}"
        )


if __name__ == "__main__":
    main()
