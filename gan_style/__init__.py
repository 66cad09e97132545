"""gan-style: learn a personal image style with a GAN and apply it at full resolution.

The package imports nothing heavy at start-up: TensorFlow and Keras are imported by the modules
that need them, so ``gan-style --help`` answers at once and ``from gan_style import transfer``
is cheap until the first image is styled.

    from gan_style import transfer

    transfer("beach.jpg", style="watercolour").save("beach_watercolour.jpg")

``transfer`` here is the module `gan_style.transfer`, which is callable as its function
`gan_style.transfer.transfer`; binding the function to this name instead would hide the module
(``import gan_style.transfer`` would give the function).
"""

from gan_style import transfer

__version__ = "0.1.0"
__all__ = ["__version__", "transfer"]
