"""Attachment hygiene: images are re-encoded from their pixels alone, dropping all metadata."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000
_IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"}


class MediaError(Exception):
    """The bytes are not an image this line can clean."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    mime: str
    extension: str
    width: int
    height: int


def scrub_image(data: bytes) -> CleanImage:
    """Decode, apply the EXIF orientation, and encode only the pixels (JPEG, or PNG if alpha).

    EXIF (GPS, camera serial, time), XMP, IPTC, ICC profiles and comments do not survive.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as source:
                if source.format not in _IMAGE_FORMATS:
                    raise MediaError(f"unsupported image format {source.format}")
                if source.width * source.height > MAX_PIXELS:
                    raise MediaError("image too large")
                source.seek(0)
                upright = ImageOps.exif_transpose(source)
                has_alpha = upright.mode in {"RGBA", "LA", "PA"} or (
                    upright.mode == "P" and "transparency" in upright.info
                )
                pixels = upright.convert("RGBA" if has_alpha else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError("cannot decode image") from exc
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise MediaError("image too large") from exc
    bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if has_alpha:
        bare.save(out, format="PNG", optimize=False)
        mime, extension = "image/png", ".png"
    else:
        bare.save(out, format="JPEG", quality=88)
        mime, extension = "image/jpeg", ".jpg"
    return CleanImage(out.getvalue(), mime, extension, bare.width, bare.height)
