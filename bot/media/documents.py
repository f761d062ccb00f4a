"""PDF and Office (docx, xlsx, pptx) files rewritten without what names their author.

PDF (pikepdf): the document information dictionary, every XMP metadata stream, application
data (`/PieceInfo`), the authors and dates of comments, and the file identifier are removed;
JPEG pictures inside lose their EXIF and other metadata segments; resources no page uses are
dropped, and qpdf writes only what is still reachable, so earlier revisions go too. A PDF
that can act on its own is refused, not stripped (stripping would silently change what the
reviewers see): JavaScript, launch, form-submit, import and remote go-to actions, actions
that run on opening or on events (`/OpenAction` other than a plain go-to, `/AA`), attached
files, XFA forms and multimedia or 3D annotations.

Office Open XML: the zip is written again, part by part, with fixed dates. docProps/core.xml
and app.xml become empty, docProps/custom.xml, thumbnails, printer settings and customXml
are removed (with their relationships), comment and revision authors become "Author",
revision session ids and document ids are dropped, and pictures inside lose their metadata
segments (videos are remuxed). Refused: macros (vbaProject, macro-enabled types), ActiveX,
embedded objects other than Office files (those are cleaned the same way), and content loaded
from elsewhere when the file opens (external relationships other than links and templates).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from posixpath import dirname, join, normpath
from xml.etree import ElementTree

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from bot.domain.media import FORMATS, CleanFile, FileType, MediaKind, Outcome, Refused
from bot.domain.media import Refusal as R
from bot.media.images import strip_jpeg, strip_png
from bot.media.sniff import sniff

# --- PDF ------------------------------------------------------------------------------------

_ACTIVE_ACTIONS = {
    "/JavaScript",
    "/Launch",
    "/SubmitForm",
    "/ImportData",
    "/GoToR",
    "/GoToE",
    "/Rendition",
    "/RichMediaExecute",
    "/Movie",
    "/Sound",
}
_ACTIVE_ANNOTATIONS = {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"}
_ACTIVE_KEYS = {"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA", "/AA"}
# Keys that carry who made a file and when, wherever they appear.
_PDF_METADATA_KEYS = ("/Metadata", "/PieceInfo", "/LastModified")
# On annotations other than form fields, /T is the author's name (for fields it is the name).
_ANNOTATION_PERSONAL = ("/T", "/M", "/CreationDate")


class _Refuse(Exception):
    def __init__(self, reason: R) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_pdf(data: bytes) -> Outcome:
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        return Refused(R.PROTECTED)
    except (pikepdf.PdfError, ValueError, RuntimeError):
        return Refused(R.UNREADABLE)
    with pdf:
        if _pdf_is_active(pdf):
            return Refused(R.DOCUMENT_ACTIVE)
        try:
            _strip_pdf(pdf)
        except _Refuse as refusal:
            return Refused(refusal.reason)
        out = io.BytesIO()
        pdf.save(
            out,
            fix_metadata_version=False,
            compress_streams=False,
            stream_decode_level=pikepdf.StreamDecodeLevel.none,
        )
    return CleanFile(out.getvalue(), *FORMATS[FileType.PDF], MediaKind.DOCUMENT, True)


def _children(obj: object) -> list[object]:
    if isinstance(obj, (Dictionary, Stream)):
        return [obj[key] for key in obj.keys()]  # a pikepdf object, not a dict
    if isinstance(obj, Array):
        return list(obj)
    return []


def _dictionaries(pdf: pikepdf.Pdf) -> list[Dictionary | Stream]:
    """Every dictionary and stream in the file: the indirect objects and what they hold
    directly (an action written inside the catalogue is not an object of its own)."""
    found: list[Dictionary | Stream] = []
    stack: list[object] = list(pdf.objects)
    stack.append(pdf.trailer)
    while stack:
        obj = stack.pop()
        if isinstance(obj, (Dictionary, Stream)):
            found.append(obj)
        stack.extend(child for child in _children(obj) if not _indirect(child))
    return found


def _indirect(obj: object) -> bool:
    return isinstance(obj, pikepdf.Object) and obj.is_indirect


def _pdf_is_active(pdf: pikepdf.Pdf) -> bool:
    opening = pdf.Root.get("/OpenAction")
    if isinstance(opening, Dictionary) and str(opening.get("/S", "")) != "/GoTo":
        return True
    for obj in _dictionaries(pdf):
        keys = set(obj.keys())
        if keys & _ACTIVE_KEYS:
            return True
        if str(obj.get("/S", "")) in _ACTIVE_ACTIONS:
            return True
        if str(obj.get("/Subtype", "")) in _ACTIVE_ANNOTATIONS:
            return True
        if str(obj.get("/Type", "")) == "/EmbeddedFile":
            return True
    return False


def _strip_pdf(pdf: pikepdf.Pdf) -> None:
    for key in ("/Info", "/ID"):
        if key in pdf.trailer:
            del pdf.trailer[key]
    for obj in _dictionaries(pdf):
        for key in _PDF_METADATA_KEYS:
            if key in obj:
                del obj[key]
        annotation = str(obj.get("/Type", "")) == "/Annot" or ("/Subtype" in obj and "/Rect" in obj)
        if annotation and str(obj.get("/Subtype", "")) != "/Widget":
            for key in _ANNOTATION_PERSONAL:
                if key in obj:
                    del obj[key]
        if isinstance(obj, Stream) and _only_filter(obj) == "/DCTDecode":
            stripped = strip_jpeg(obj.read_raw_bytes())
            if stripped is None:
                raise _Refuse(R.UNREADABLE)
            parms = obj.get("/DecodeParms")
            obj.write(
                stripped,
                filter=Name.DCTDecode,
                decode_parms=parms if isinstance(parms, (Dictionary, Array)) else None,
            )
    pdf.remove_unreferenced_resources()


def _only_filter(stream: Stream) -> str | None:
    filters = stream.get("/Filter")
    if isinstance(filters, Array):
        return str(filters[0]) if len(filters) == 1 else None
    return None if filters is None else str(filters)


# --- Office Open XML ------------------------------------------------------------------------

MAX_PARTS = 10_000
MAX_UNPACKED_BYTES = 200_000_000
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)

_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms='
    b'"http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
)
_APP = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-'
    b'properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'docPropsVTypes"/>'
)
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"

# Relationship types that may point outside the file: a link the reader clicks, and the
# template a document was made from (dropped, because its path names the author's folder).
_EXTERNAL_LINK = "/hyperlink"
_EXTERNAL_TEMPLATE = "/attachedTemplate"

# Text rewritten in every XML part: who commented or revised, and ids that link one file to
# other files of the same author or session.
_XML_REWRITES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r'(\s[\w.]+:author)="[^"]*"'), r'\1="Author"'),
    (re.compile(r'(\s[\w.]+:initials)="[^"]*"'), r'\1="A"'),
    (re.compile(r'(\s(?:[\w.]+:)?userId)="[^"]*"'), r'\1="Author"'),
    (re.compile(r'(\s(?:[\w.]+:)?providerId)="[^"]*"'), r'\1="None"'),
    (re.compile(r'\s[\w.]+:date="[^"]*"'), ""),
    (re.compile(r'\sw:rsid\w*="[^"]*"'), ""),
    (re.compile(r"<w:rsids>.*?</w:rsids>", re.S), ""),
    (re.compile(r"<w1[45]:docId\b[^>]*/>"), ""),
    (re.compile(r"<w:attachedTemplate\b[^>]*/>"), ""),
    (re.compile(r"<x15ac:absPath\b[^>]*/>"), ""),
    (re.compile(r"<xr:revisionPtr\b[^>]*/>"), ""),
    (re.compile(r"<author>[^<]*</author>"), "<author>Author</author>"),
]
# Comment author lists name people in `name` (PowerPoint) and `displayName` (Excel).
_AUTHOR_LISTS = re.compile(r"(?:commentAuthors|authors|persons/person)\d*\.xml$")
_AUTHOR_NAMES = re.compile(r'(\s(?:[\w.]+:)?(?:name|displayName))="[^"]*"')

_REMOVED_PARTS = re.compile(
    r"^(?:docProps/custom\.xml|docProps/thumbnail\.\w+|customXml/.*|[^/]+/printerSettings/.*)$"
)
# Parts that hold code or objects Office runs or hands to another program, by name, and the
# content types of macro-enabled documents.
_ACTIVE_PARTS = re.compile(r"vbaProject|vbaData|/activeX/|\.bin$", re.I)
_ACTIVE_TYPES = re.compile(r"vbaProject|macroEnabled", re.I)


def clean_office(
    data: bytes, kind: FileType, video: Callable[[bytes, FileType], Outcome]
) -> Outcome:
    """Rewrite a docx, xlsx or pptx (`video` cleans videos inside presentations)."""
    try:
        return _Office(video).clean(data, kind, depth=0)
    except _Refuse as refusal:
        return Refused(refusal.reason)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError, ValueError):
        return Refused(R.UNREADABLE)
    except ElementTree.ParseError:
        return Refused(R.UNREADABLE)


class _Office:
    def __init__(self, video: Callable[[bytes, FileType], Outcome]) -> None:
        self._video = video

    def clean(self, data: bytes, kind: FileType, depth: int) -> CleanFile:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(infos) > MAX_PARTS or len(set(names)) != len(names):
                raise _Refuse(R.UNREADABLE)
            if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
                raise _Refuse(R.TOO_HEAVY)
            if any(info.flag_bits & 0x1 for info in infos):
                raise _Refuse(R.PROTECTED)
            parts = {info.filename: archive.read(info) for info in infos if not info.is_dir()}
        removed = {name for name in parts if _REMOVED_PARTS.match(name)}
        content_types = parts.get("[Content_Types].xml", b"").decode("utf-8", "replace")
        if _ACTIVE_TYPES.search(content_types) or any(
            _ACTIVE_PARTS.search(name) for name in parts if name not in removed
        ):
            raise _Refuse(R.DOCUMENT_ACTIVE)
        self._check_external(parts)
        cleaned: dict[str, bytes] = {}
        for name, body in parts.items():
            if name in removed:
                continue
            cleaned[name] = self._part(name, body, depth)
        cleaned = self._unlink(cleaned, removed)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for name in sorted(cleaned, key=lambda n: (n != "[Content_Types].xml", n)):
                info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 0
                target.writestr(info, cleaned[name])
        mime, extension = FORMATS[kind]
        return CleanFile(out.getvalue(), mime, extension, MediaKind.DOCUMENT, True)

    def _part(self, name: str, body: bytes, depth: int) -> bytes:
        if name == "docProps/core.xml":
            return _CORE
        if name == "docProps/app.xml":
            return _APP
        if name.endswith((".xml", ".rels", ".vml")):
            return _rewrite_xml(name, body)
        inner = sniff(body)
        if "/embeddings/" in name:
            if inner not in {FileType.DOCX, FileType.XLSX, FileType.PPTX} or depth >= 2:
                raise _Refuse(R.DOCUMENT_ACTIVE)
            return self.clean(body, inner, depth + 1).data
        if inner is FileType.JPEG:
            return _or_unreadable(strip_jpeg(body))
        if inner is FileType.PNG:
            return _or_unreadable(strip_png(body))
        if inner in {FileType.MP4, FileType.MOV, FileType.THREE_GP}:
            outcome = self._video(body, inner)
            if isinstance(outcome, Refused):
                raise _Refuse(outcome.reason)
            return outcome.data
        if inner in {FileType.PROGRAM, FileType.HTML, FileType.ARCHIVE}:
            raise _Refuse(R.DOCUMENT_ACTIVE)
        return body  # fonts, drawings (EMF, WMF, SVG), GIF and other pictures as they are

    def _check_external(self, parts: dict[str, bytes]) -> None:
        """Refuse a file that loads something from elsewhere when it opens."""
        for name, body in parts.items():
            if not name.endswith(".rels"):
                continue
            for rel in _parse(body).iter(f"{_REL_NS}Relationship"):
                if rel.get("TargetMode") != "External":
                    continue
                kind = rel.get("Type", "")
                if kind.endswith(_EXTERNAL_LINK):
                    continue
                if kind.endswith(_EXTERNAL_TEMPLATE):
                    continue  # dropped by the rewrite of the relationships
                raise _Refuse(R.DOCUMENT_ACTIVE)

    def _unlink(self, parts: dict[str, bytes], removed: set[str]) -> dict[str, bytes]:
        """Remove relationships to removed parts (and to templates elsewhere) and their
        content types, so Office opens the file without asking to repair it."""
        result = dict(parts)
        for name, body in parts.items():
            if name.endswith(".rels"):
                result[name] = _drop_relationships(name, body, removed)
            elif name == "[Content_Types].xml":
                result[name] = _drop_overrides(body, removed)
        return result


def _or_unreadable(data: bytes | None) -> bytes:
    if data is None:
        raise _Refuse(R.UNREADABLE)
    return data


def _parse(body: bytes) -> ElementTree.Element:
    """Parse an XML part. A DOCTYPE never belongs in Office XML; refusing it rules out
    entity tricks before expat sees them (and expat resolves no external entities)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise _Refuse(R.UNREADABLE)
    return ElementTree.fromstring(body)  # noqa: S314 - DOCTYPE refused above


def _rewrite_xml(name: str, body: bytes) -> bytes:
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise _Refuse(R.UNREADABLE)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refuse(R.UNREADABLE) from None
    for pattern, replacement in _XML_REWRITES:
        text = pattern.sub(replacement, text)
    if _AUTHOR_LISTS.search(name):
        text = _AUTHOR_NAMES.sub(r'\1="Author"', text)
    return text.encode("utf-8")


def _target(rels_name: str, target: str) -> str:
    """The part a relationship points to, from the .rels file's own place."""
    if target.startswith("/"):
        return target.lstrip("/")
    source_dir = dirname(dirname(rels_name))  # word/_rels/document.xml.rels -> word
    return normpath(join(source_dir, target)).lstrip("./")


def _drop_relationships(rels_name: str, body: bytes, removed: set[str]) -> bytes:
    text = body.decode("utf-8")

    def keep(match: re.Match[str]) -> str:
        rel = match.group(0)
        target = re.search(r'Target="([^"]*)"', rel)
        external = 'TargetMode="External"' in rel
        if external and _EXTERNAL_TEMPLATE in rel:
            return ""
        if target and not external and _target(rels_name, target.group(1)) in removed:
            return ""
        return rel

    return re.sub(r"<Relationship\b[^>]*/>", keep, text).encode("utf-8")


def _drop_overrides(body: bytes, removed: set[str]) -> bytes:
    text = body.decode("utf-8")

    def keep(match: re.Match[str]) -> str:
        part = re.search(r'PartName="/?([^"]*)"', match.group(0))
        return "" if part and part.group(1) in removed else match.group(0)

    return re.sub(r"<Override\b[^>]*/>", keep, text).encode("utf-8")
