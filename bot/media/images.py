"""Images rebuilt from their pixels alone, and lossless stripping of images inside documents.

`clean_image` is what a photo or an image file goes through: the header is read first and an
image with too many pixels is refused before anything is decoded; then the first frame is
decoded, turned upright by its EXIF orientation, and encoded again from the pixels (JPEG, or
PNG when it has transparency). EXIF (GPS, camera, serial, time), XMP, IPTC, ICC profiles, PNG
text chunks, comments, MPO's second pictures (Ultra HDR gain maps) and thumbnails are gone.

`strip_jpeg` and `strip_png` keep an embedded image's own encoding (a PDF or a Word file lays
it out by its bytes) and only drop the segments and chunks that carry metadata.
"""

from __future__ import annotations

import io
import warnings

import pillow_heif
from PIL import Image

from bot.domain.media import MAX_CLEAN_BYTES, CleanFile, FileType, MediaKind, Outcome, Refused
from bot.domain.media import Refusal as R

# Pillow's plugin names for each kind: a file sniffed as one kind is never read as another.
_PLUGINS: dict[FileType, list[str]] = {
    FileType.JPEG: ["JPEG", "MPO"],
    FileType.PNG: ["PNG"],
    FileType.GIF: ["GIF"],
    FileType.WEBP: ["WEBP"],
    FileType.BMP: ["BMP"],
    FileType.TIFF: ["TIFF"],
    FileType.HEIF: ["HEIF"],
    FileType.AVIF: ["AVIF"],
    FileType.JPEG2000: ["JPEG2000"],
}

# EXIF orientation (tag 0x0112) -> the transposition that makes the picture upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION = 0x0112
JPEG_QUALITY = 88

# HEIF through pillow-heif: the primary picture only, decoded on one thread (the worker's
# memory limit counts every thread's stack and heap).
pillow_heif.options.THUMBNAILS = False
pillow_heif.options.DEPTH_IMAGES = False
pillow_heif.options.AUX_IMAGES = False
pillow_heif.options.DECODE_THREADS = 1
pillow_heif.register_heif_opener()


def clean_image(data: bytes, kind: FileType, max_pixels: int) -> Outcome:
    """Decode the first frame and re-encode its pixels; refuse what is too big or unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_PLUGINS[kind]) as source:
                width, height = source.size
                if width * height > max_pixels:
                    return _too_large(max_pixels)
                source.seek(0)  # the first frame only: MPO, GIF, APNG, multi-page TIFF
                source.load()
                # Read after loading: the TIFF, AVIF and HEIF readers turn the picture
                # themselves as they load it, and then report orientation 1.
                orientation = _orientation(source)
                pixels = _bare(source, orientation)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return _too_large(max_pixels)  # Pillow's own check, at twice the limit
    except MemoryError:
        raise
    except Exception:  # hostile bytes make decoders raise anything
        return Refused(R.IMAGE_UNREADABLE)
    out = io.BytesIO()
    if pixels.mode == "RGBA":
        pixels.save(out, format="PNG", icc_profile=None, exif=b"")
        mime, extension = "image/png", ".png"
    else:
        pixels.save(out, format="JPEG", quality=JPEG_QUALITY, icc_profile=None, exif=b"")
        mime, extension = "image/jpeg", ".jpg"
    if out.tell() > MAX_CLEAN_BYTES:
        return Refused(R.TOO_HEAVY)
    return CleanFile(out.getvalue(), mime, extension, MediaKind.IMAGE, metadata_removed=True)


def _too_large(max_pixels: int) -> Refused:
    return Refused(R.IMAGE_TOO_LARGE, (("limit", max_pixels // 1_000_000),))


def _orientation(source: Image.Image) -> int:
    try:
        value = source.getexif().get(_ORIENTATION, 1)
    except Exception:  # a broken EXIF block only loses the orientation
        return 1
    return value if isinstance(value, int) else 1


def _bare(source: Image.Image, orientation: int) -> Image.Image:
    """The pixels upright, in L, RGB or RGBA, as a new image that carries no `info` at all.

    At most two copies of the pixels exist at once (the decoded frame and the next step).
    """
    has_alpha = source.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or (
        source.mode == "P" and "transparency" in source.info
    )
    target = "RGBA" if has_alpha else ("L" if source.mode in {"L", "1"} else "RGB")
    pixels = source.convert(target) if source.mode != target else source.copy()
    source.close()
    upright = _UPRIGHT.get(orientation)
    if upright is not None:
        turned = pixels.transpose(upright)
        pixels.close()
        pixels = turned
    pixels.info = {}
    return pixels


# --- lossless stripping of images embedded in documents ---------------------------------------

# JPEG markers whose segments carry no pixels and are dropped: APP0-APP13 and APP15 (JFIF and
# its thumbnail, EXIF, XMP, ICC, MPF, Photoshop/IPTC...) and comments. APP14 (Adobe) stays: it
# says how CMYK pixels are coded.
_JPEG_DROP = {*range(0xE0, 0xEE), 0xEF, 0xFE}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def strip_jpeg(data: bytes) -> bytes | None:
    """The JPEG without its metadata segments and without anything after its end (MPO's
    second pictures, appended files); None when the bytes are not a JPEG this can walk."""
    if not data.startswith(b"\xff\xd8"):
        return None
    out = bytearray(b"\xff\xd8")
    at = 2
    while at < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1] if at + 1 < len(data) else -1
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _JPEG_STANDALONE:
            out += data[at : at + 2]
            at += 2
            continue
        if marker in {0xD9, -1}:
            break
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if length < 2 or at + 2 + length > len(data):
            return None
        if marker == 0xDA:  # start of scan: the coded data runs to the end-of-image marker
            end = data.find(b"\xff\xd9", at + 2 + length)
            if end < 0:
                return None
            out += data[at : end + 2]
            return bytes(out)
        if marker not in _JPEG_DROP:
            out += data[at : at + 2 + length]
        at += 2 + length
    return None


# PNG chunks that are kept: pixels, palette, transparency, colour and size rules, animation.
# Everything else goes: tEXt, zTXt, iTXt, eXIf, tIME, iCCP (its name is free text), private
# chunks of cameras and editors.
_PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"sBIT",
    b"bKGD",
    b"pHYs",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


def strip_png(data: bytes) -> bytes | None:
    """The PNG with only the chunks that draw it; None when it is not a PNG this can walk."""
    signature = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(signature):
        return None
    out = bytearray(signature)
    at = len(signature)
    while at + 12 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        name = data[at + 4 : at + 8]
        end = at + 12 + length
        if end > len(data):
            return None
        if name in _PNG_KEEP:
            out += data[at:end]
        at = end
        if name == b"IEND":
            return bytes(out)
    return None
