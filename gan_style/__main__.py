"""``python -m gan_style``: the same as the ``gan-style`` command."""

from gan_style.cli import main

main()
