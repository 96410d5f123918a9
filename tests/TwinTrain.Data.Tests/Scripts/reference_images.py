"""Makes an image folder's pixels as a Python pipeline would, for ImageFolderTests.

For each image path given after the options: Image.open(path).convert("RGB"), then convert("L") with --grayscale
(Pillow's ITU-R 601-2 luma), then with --size H,W torch.nn.functional.interpolate(mode="bilinear",
align_corners=False, antialias=False) on float32, which is tf.image.resize(method="bilinear")'s sampling, rounded
half up to bytes. Writes every image's bytes (height x width x channels) to stdout, one after another.
"""
import argparse
import sys

import numpy as np
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grayscale", action="store_true")
    parser.add_argument("--size")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    out = sys.stdout.buffer
    for path in args.paths:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if args.grayscale:
                image = image.convert("L")
            pixels = np.asarray(image, dtype=np.uint8)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if args.size:
            import torch
            import torch.nn.functional as F

            height, width = (int(v) for v in args.size.split(","))
            x = torch.from_numpy(pixels.astype(np.float32)).permute(2, 0, 1)[None]
            y = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
            pixels = np.clip(np.floor(y[0].permute(1, 2, 0).numpy() + 0.5), 0, 255).astype(np.uint8)
        out.write(np.ascontiguousarray(pixels).tobytes())
    out.flush()


if __name__ == "__main__":
    main()
