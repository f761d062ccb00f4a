"""Test images: a JPEG carrying GPS and camera EXIF with canary strings."""

from __future__ import annotations

import io

from PIL import Image

EXIF_CANARY = "CanaryCam-4711"
GPS_LATITUDE = (39.0, 54.0, 27.0)


def jpeg_with_gps(
    size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = EXIF_CANARY  # Make
    exif[0x0110] = EXIF_CANARY + "-model"  # Model
    exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "E", 4: (116.0, 23.0, 17.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=EXIF_CANARY.encode())
    return out.getvalue()


def has_metadata(data: bytes) -> bool:
    """True when the image carries EXIF, GPS, a comment or the canary anywhere."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return (
            bool(exif)
            or "comment" in image.info
            or "exif" in image.info
            or (EXIF_CANARY.encode() in data)
        )
