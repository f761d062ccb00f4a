"""Which files are images to clean; the cleaning itself is in bot.media."""

from __future__ import annotations

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic"}


def looks_like_image(mime: str | None, extension: str) -> bool:
    return (mime or "").startswith("image/") or extension.lower() in IMAGE_EXTENSIONS
