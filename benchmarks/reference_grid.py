"""The reference grid of a reference style: photos painted in the look of four chosen pictures.

    GAN_STYLE_HOME=... python benchmarks/reference_grid.py --style monet_ref \
        --photos P1.jpg P2.jpg P3.jpg --references R1.jpg R2.jpg R3.jpg R4.jpg \
        --out docs/reference_monet.png

Rows: the photos; columns: each reference, the reference image on top
(`gan_style.reference.reference_grid`).
"""

from __future__ import annotations

import argparse

from gan_style.atomic import write_bytes_atomic
from gan_style.reference import reference_grid


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", required=True)
    parser.add_argument("--photos", nargs="+", required=True)
    parser.add_argument("--references", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-size", type=int, default=320)
    parser.add_argument("--caption", default=None)
    arguments = parser.parse_args(argv)
    png = reference_grid(
        arguments.style,
        arguments.photos,
        arguments.references,
        max_size=arguments.max_size,
        caption=arguments.caption,
    )
    write_bytes_atomic(arguments.out, png)
    print(arguments.out)


if __name__ == "__main__":
    main()
