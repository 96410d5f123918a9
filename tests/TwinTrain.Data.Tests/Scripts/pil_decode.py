"""Decodes every JPEG in a tar archive with PIL, as a Python pipeline would, for JpegDecodingTests.

Writes to stdout, for each member ending in .jpg (in archive order): its name in UTF-8, a newline, width and height
as little-endian uint16, then width*height*3 bytes of RGB (Image.convert("RGB"), which repeats grey over three channels).
"""
import io
import struct
import sys
import tarfile

from PIL import Image, features


def main(archive: str) -> None:
    if not features.check_feature("libjpeg_turbo"):
        sys.exit("PIL here does not decode JPEG with libjpeg-turbo")
    out = sys.stdout.buffer
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.isfile() or not member.name.lower().endswith(".jpg"):
                continue
            with Image.open(io.BytesIO(tar.extractfile(member).read())) as image:
                rgb = image.convert("RGB")
                out.write(member.name.encode("utf-8") + b"\n")
                out.write(struct.pack("<HH", rgb.width, rgb.height))
                out.write(rgb.tobytes())
    out.flush()


if __name__ == "__main__":
    main(sys.argv[1])
