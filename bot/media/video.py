"""Videos (MP4, MOV, 3GP) remuxed without metadata, by PyAV (FFmpeg), with no re-encoding.

Only the video and audio streams are copied, packet by packet, into a new container of the
same family. The container's metadata (the `©xyz` and Apple location atoms, make, model,
software, creation time) and each stream's metadata (handler names, languages, dates) are
not copied, and the writer runs bit-exact, so it adds no encoder tag or timestamp of its own.
Timed metadata tracks (Apple's location and Live Photo tracks, timecodes), subtitles, cover
pictures and any other stream are dropped. Pixels and sound are the tipster's, untouched.
"""

from __future__ import annotations

import io

import av

from bot.domain.media import FORMATS, CleanFile, FileType, MediaKind, Outcome, Refused
from bot.domain.media import Refusal as R

_MUXERS = {FileType.MP4: "mp4", FileType.MOV: "mov", FileType.THREE_GP: "3gp"}


def clean_video(data: bytes, kind: FileType) -> Outcome:
    out = io.BytesIO()
    try:
        with av.open(io.BytesIO(data), mode="r", format="mov") as source:
            streams = [s for s in source.streams if s.type in {"video", "audio"}]
            if not any(s.type == "video" for s in streams):
                return Refused(R.AUDIO)  # an MP4 with sound only is an audio recording
            with av.open(
                out, mode="w", format=_MUXERS[kind], options={"fflags": "+bitexact"}
            ) as target:
                copies = {}
                for stream in streams:
                    copy = target.add_stream_from_template(stream)
                    copy.metadata.clear()
                    copies[stream.index] = copy
                target.metadata.clear()
                for packet in source.demux(streams):
                    if packet.dts is None:
                        continue  # the flush packet at the end of each stream
                    packet.stream = copies[packet.stream.index]
                    target.mux(packet)
    except (av.FFmpegError, ValueError, KeyError, IndexError, OSError):
        return Refused(R.UNREADABLE)
    mime, extension = FORMATS[kind]
    return CleanFile(_without_user_data(out.getvalue()), mime, extension, MediaKind.VIDEO, True)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]] | None:
    """The boxes between `start` and `end` as (type, offset, size); None if any is odd."""
    found = []
    at = start
    while at < end:
        size = int.from_bytes(data[at : at + 4], "big")
        if size < 8 or at + size > end:
            return None  # 64-bit or open-ended sizes: left as FFmpeg wrote them
        found.append((data[at + 4 : at + 8], at, size))
        at += size
    return found


def _without_user_data(data: bytes) -> bytes:
    """Drop the (empty) `udta`/`meta` boxes the MP4 writer always adds to `moov`.

    Only when `moov` comes after `mdat`, as FFmpeg writes it: then no chunk offset moves.
    """
    top = _boxes(data, 0, len(data))
    if top is None:
        return data
    names = [name for name, _, _ in top]
    if b"moov" not in names or b"mdat" not in names or names.index(b"mdat") > names.index(b"moov"):
        return data
    _, moov_at, moov_size = top[names.index(b"moov")]
    children = _boxes(data, moov_at + 8, moov_at + moov_size)
    if children is None:
        return data
    kept = b"".join(
        data[at : at + size] for name, at, size in children if name not in {b"udta", b"meta"}
    )
    moov = (8 + len(kept)).to_bytes(4, "big") + b"moov" + kept
    return data[:moov_at] + moov + data[moov_at + moov_size :]
