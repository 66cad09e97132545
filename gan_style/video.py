"""Videos: recognised by content, styled frame by frame, reassembled with everything else kept.

`input_kind` tells a video from an image by its content (Pillow reads images; FFmpeg, through
PyAV, finds a video stream in anything else). `plan_video_jobs` gives each video its output
file; `transfer_video` reads the frames one by one (a 4K clip never sits in memory), runs each
through a frame function and encodes the results:

- the output keeps the source's size (unless ``max_size`` shrinks the frames), every frame's
  time stamp (so variable frame rates stay as they were), its pixel aspect ratio, its rotation
  (the display matrix a phone writes), its colour matrix and the container's metadata and
  chapters;
- audio and subtitle streams are copied packet for packet, untouched;
- H.264 by default (``video_codec``, ``crf``); 4:2:0 chroma when the size is even, 4:4:4 when a
  side is odd (4:2:0 cannot hold an odd size, and cropping would change it);
- the file is written under a temporary name beside the destination and renamed at the end,
  so an interruption (Ctrl-C) or an error leaves no partial file;
- a frame that does not decode is skipped and a stream that ends early (a truncated file) is
  stopped there, each reported in one line, and everything decoded so far is kept.

`FrameStyler` is the frame function transfer uses: the stylizer with the same options as for
images, then post-processing (`gan_style.postprocess`), temporal smoothing
(`gan_style.temporal`) and the strength blend, last.

At import time this module needs only the standard library and gan-style's light modules;
PyAV, numpy, Pillow and TensorFlow load on first use.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gan_style.atomic import atomic_path
from gan_style.config import VIDEO_CODECS
from gan_style.errors import ConfigError, DataError

if TYPE_CHECKING:
    import numpy as np

    from gan_style.config import TransferConfig
    from gan_style.postprocess import PostProcess
    from gan_style.stylizer import Stylizer

VIDEO_CONTAINERS = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".avi": "avi",
}
"""The video files transfer writes, by extension: FFmpeg's muxer for each."""

_DEFAULT_EXTENSION = ".mp4"
_COPIED_TYPES = ("audio", "subtitle")
_ENCODER_OPTIONS = {
    "libx264": lambda crf: {"crf": str(crf), "preset": "medium"},
    "libx265": lambda crf: {"crf": str(crf), "preset": "medium", "x265-params": "log-level=error"},
    "libvpx-vp9": lambda crf: {"crf": str(crf), "b": "0", "row-mt": "1"},
}
_COLORSPACES = {1: "itu709", 5: "itu601", 6: "itu601", 7: "smpte240m", 9: "bt2020"}
"""Frame colour matrices (FFmpeg's AVColorSpace) that swscale converts with, by its name."""


def has_video_extension(path: str | os.PathLike) -> bool:
    """Whether the name ends with a video extension transfer knows (folders are walked for
    these and for images)."""
    return Path(path).suffix.lower() in VIDEO_CONTAINERS


def input_kind(path: str | os.PathLike) -> str:
    """``"image"`` or ``"video"``, by content.

    An image is what Pillow opens (an animated GIF stays an image: its first frame); a video
    is a file in which FFmpeg finds a video stream outside its image readers. A file that is
    neither counts as a video when its name says so (it then fails as an unreadable video),
    else as an image (it fails as not an image).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path):
            return "image"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        pass
    import av

    try:
        with av.open(os.fspath(path)) as container:
            demuxer = container.format.name
            still = "image2" in demuxer or demuxer.endswith("_pipe")
            if container.streams.video and not still:
                return "video"
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        pass
    return "video" if has_video_extension(path) else "image"


@dataclasses.dataclass(frozen=True)
class VideoJob:
    """One video and where its result goes.

    Attributes:
        source: The input file.
        destination: The output file.
        container: FFmpeg's name of the output's container format.
    """

    source: Path
    destination: Path
    container: str


def plan_video_jobs(
    config: TransferConfig,
    videos: list[tuple[Path, Path]],
    style_name: str,
    *,
    images: int,
    taken: Iterable[Path] = (),
) -> tuple[list[VideoJob], list[Path], list[tuple[str, str]]]:
    """Decide each video's output file, as `gan_style.batch.plan_jobs` does for images.

    Args:
        config: The transfer's options (``output``, ``name_pattern``, ``overwrite``).
        videos: ``(file, relative)`` pairs from `gan_style.batch.collect_inputs`.
        style_name: For ``{style}`` in the name pattern.
        images: How many image inputs the same transfer has (an ``output`` naming one video
            file allows no other input).
        taken: Every input file and image output already planned (never overwritten).

    Returns:
        ``(jobs, skipped, failures)`` like `gan_style.batch.plan_jobs`.

    Raises:
        ConfigError: ``output`` names one video file but there are other inputs, or names an
            image file for a video.
    """
    from gan_style.data.images import has_image_extension

    output = Path(config.output).expanduser() if config.output else None
    output_file = None
    if output is not None and not output.is_dir() and not config.output.endswith(("/", os.sep)):
        if has_video_extension(output):
            if len(videos) + images > 1:
                raise ConfigError(
                    f"--out {config.output} names one video file but there are "
                    f"{len(videos) + images} inputs; give a folder"
                )
            output_file = output
        elif videos and has_image_extension(output):
            raise ConfigError(
                f"--out {config.output}: a video's result is a video; give a name ending in "
                f"{', '.join(sorted(VIDEO_CONTAINERS))}, or a folder"
            )
    from gan_style.batch import OutputClaims

    protected = {Path(path).resolve() for path in taken} | {path.resolve() for path, _ in videos}
    claims = OutputClaims(protected, config.overwrite)
    jobs = []
    for path, relative in videos:
        if output_file is not None:
            destination = output_file
        else:
            suffix = path.suffix.lower() if has_video_extension(path) else _DEFAULT_EXTENSION
            name = config.name_pattern.format(stem=path.stem, style=style_name, ext=suffix[1:])
            folder = path.parent if output is None else output / relative.parent
            destination = folder / name
        if not has_video_extension(destination):
            destination = destination.with_name(destination.name + _DEFAULT_EXTENSION)
        if claims.claim(path, destination):
            container = VIDEO_CONTAINERS[destination.suffix.lower()]
            jobs.append(VideoJob(path, destination, container))
    return jobs, claims.skipped, claims.failures


@dataclasses.dataclass
class VideoResult:
    """What `transfer_video` wrote.

    Attributes:
        frames: Frames written.
        size: (width, height) of the output frames.
        frame_rate: The source's average frame rate (frames per second), None if unknown.
        copied_streams: Audio and subtitle streams copied, as ``"audio (aac)"`` labels.
        problems: One line per thing that went wrong but left a usable video (frames that
            did not decode, an early end, streams the output's container cannot hold).
    """

    frames: int = 0
    size: tuple[int, int] | None = None
    frame_rate: float | None = None
    copied_streams: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "size": None if self.size is None else list(self.size),
            "frame_rate": self.frame_rate,
            "copied_streams": self.copied_streams,
            "problems": self.problems,
        }


class _Counted:
    """An iterable with a length (a progress bar's total) that is only an estimate."""

    def __init__(self, iterable: Iterable, length: int):
        self._iterable, self._length = iterable, length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator:
        return iter(self._iterable)


def _open_input(source: Path):
    import av

    try:
        container = av.open(os.fspath(source))
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise DataError(f"{source}: not a readable video ({_reason(error)})") from error
    except OSError as error:
        raise DataError(f"{source}: cannot read ({error.strerror or error})") from error
    if not container.streams.video:
        container.close()
        raise DataError(f"{source}: no video stream")
    return container


def _reason(error: BaseException) -> str:
    import av

    if isinstance(error, av.error.FFmpegError):
        return error.strerror or type(error).__name__
    return str(error) or type(error).__name__


def _expected_frames(stream) -> int:
    """The source's frame count, from the container or its duration (0 when unknown)."""
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    if stream.duration and stream.time_base and rate:
        return max(0, round(float(stream.duration * stream.time_base * rate)))
    container = stream.container
    if container.duration and rate:
        return max(0, round(container.duration / 1_000_000 * float(rate)))
    return 0


def transfer_video(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    render: Callable[[np.ndarray], np.ndarray],
    *,
    video_codec: str = "h264",
    crf: int = 18,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> VideoResult:
    """Writes ``source`` with every frame replaced by ``render(frame)`` to ``destination``.

    Args:
        source: A video file.
        destination: The output file; its extension picks the container. Written atomically.
        render: (height, width, 3) uint8 RGB → uint8 RGB frame; every result must have the
            size of the first.
        video_codec: A name of `gan_style.config.VIDEO_CODECS`.
        crf: Constant rate factor (quality; lower is better, 0 is lossless for H.264).
        progress: Wraps the iterable of frames (its length is the expected frame count).

    Returns:
        A `VideoResult`.

    Raises:
        DataError: The source is not a readable video, or none of its frames decodes.
        ConfigError: The codec cannot go into the destination's container.
    """
    import av

    source, destination = Path(source), Path(destination)
    if video_codec not in VIDEO_CODECS:
        raise ConfigError(
            f"video_codec must be one of {', '.join(VIDEO_CODECS)}; got {video_codec!r}"
        )
    encoder = VIDEO_CODECS[video_codec]
    result = VideoResult()
    destination.parent.mkdir(parents=True, exist_ok=True)
    with _open_input(source) as container:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        rate = video.average_rate or video.guessed_rate
        result.frame_rate = None if not rate else round(float(rate), 6)
        copied = [stream for stream in container.streams if stream.type in _COPIED_TYPES]
        expected = _expected_frames(video)
        with atomic_path(destination) as temporary:
            output_format = VIDEO_CONTAINERS[destination.suffix.lower()]
            with av.open(os.fspath(temporary), "w", format=output_format) as output:
                writer = _Writer(output, video, encoder, crf, rate, container)
                for stream in copied:
                    label = f"{stream.type} ({stream.codec_context.name})"
                    if stream.codec_context.name not in output.supported_codecs:
                        result.problems.append(
                            f"stream {stream.index}, {label}, cannot go into a "
                            f"{destination.suffix} file; left out"
                        )
                        continue
                    writer.copy_stream(stream)
                    result.copied_streams.append(label)
                frames = _decoded_frames(container, video, writer, result, expected)
                counted = _Counted(frames, expected) if expected else frames
                size = None
                for frame in progress(counted) if progress is not None else counted:
                    size = size or (frame.width, frame.height)
                    # A stream whose frame size changes is brought back to its first size.
                    pixels = frame.to_ndarray(width=size[0], height=size[1], format="rgb24")
                    writer.write(frame, render(pixels))
                    result.frames += 1
                if result.frames == 0:
                    problem = f" ({result.problems[0]})" if result.problems else ""
                    raise DataError(f"{source}: no frame could be decoded{problem}")
                writer.finish()
                result.size = writer.size
    return result


def _decoded_frames(container, video, writer: _Writer, result: VideoResult, expected: int):
    """The video's frames in order; copied packets go to ``writer`` on the way.

    A packet that does not decode is skipped (the first such is reported, with a count at the
    end); an error while reading the file ends the stream there, reported, keeping the rest.
    """
    import av

    streams = [video, *writer.copied_sources()]
    packets = container.demux(streams)
    undecodable = 0
    decoded = 0
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as error:
            result.problems.append(
                f"reading stopped after frame {decoded} ({_reason(error)}); kept what came before"
            )
            break
        if packet.stream.index != video.index:
            writer.copy(packet)
            continue
        try:
            frames = packet.decode()
        except av.error.FFmpegError as error:
            undecodable += 1
            if undecodable == 1:
                first = f"frame {decoded + 1} does not decode ({_reason(error)})"
            continue
        for frame in frames:
            decoded += 1
            yield frame
    try:
        for frame in video.decode(None):
            decoded += 1
            yield frame
    except av.error.EOFError:
        pass  # the demuxer's last packets flushed the decoder already
    except av.error.FFmpegError as error:
        result.problems.append(f"the last frames do not decode ({_reason(error)})")
    if undecodable:
        others = f", {undecodable - 1} more packets skipped" if undecodable > 1 else ""
        result.problems.append(f"{first}; skipped{others}")
    if expected and decoded < expected - 1 and not result.problems:
        result.problems.append(
            f"ended after {decoded} of {expected} frames (truncated?); kept them"
        )


class _Writer:
    """The output container: the styled video stream, copied streams, packets held back until
    the video stream is configured from the first styled frame."""

    def __init__(self, output, video, encoder: str, crf: int, rate, source_container):
        self.output = output
        self.video = video
        self.encoder = encoder
        self.crf = crf
        self.rate = rate
        self.source_container = source_container
        self.stream = None
        self.size: tuple[int, int] | None = None
        self._copies: dict[int, Any] = {}
        self._held: list = []
        self._colorspace: str | None = None
        self._pixel_format = "yuv420p"
        self._next_pts = 0

    def copy_stream(self, stream) -> None:
        self._copies[stream.index] = (stream, None)

    def copied_sources(self) -> list:
        return [stream for stream, _ in self._copies.values()]

    def copy(self, packet) -> None:
        if packet.dts is None:  # a demuxer's flush packet
            return
        if self.stream is None:
            self._held.append(packet)
            return
        packet.stream = self._copies[packet.stream.index][1]
        self.output.mux(packet)

    def _start(self, frame, width: int, height: int) -> None:
        """Adds the streams in the source's order, configured from the first frame."""
        import av

        output, video = self.output, self.video
        output.metadata.update(self.source_container.metadata)
        try:
            chapters = self.source_container.chapters()
        except (AttributeError, av.error.FFmpegError):
            chapters = []
        if chapters:
            output.set_chapters(chapters)
        self._pixel_format = "yuv444p" if width % 2 or height % 2 else "yuv420p"
        if video.codec_context.pix_fmt in ("yuv444p", "yuvj444p"):
            self._pixel_format = "yuv444p"
        try:
            stream = output.add_stream(
                self.encoder,
                rate=self.rate or Fraction(25),
                options=_ENCODER_OPTIONS[self.encoder](self.crf),
            )
        except (av.error.FFmpegError, ValueError) as error:
            raise ConfigError(
                f"{self.encoder} cannot write into a {output.format.name} file ({error})"
            ) from error
        stream.width, stream.height = width, height
        stream.pix_fmt = self._pixel_format
        stream.time_base = video.time_base
        stream.codec_context.time_base = video.time_base
        stream.metadata.update(video.metadata)
        aspect = video.codec_context.sample_aspect_ratio or video.sample_aspect_ratio
        if aspect:
            stream.codec_context.sample_aspect_ratio = aspect
        rotation = getattr(frame, "rotation", 0) or 0
        if rotation and hasattr(stream, "set_display_rotation"):
            stream.set_display_rotation(rotation)
        elif rotation:  # PyAV before 17: FFmpeg's muxers still read the old tag
            stream.metadata["rotate"] = str(-rotation % 360)
        self._colorspace = _COLORSPACES.get(int(frame.colorspace))
        if self._colorspace is not None:
            stream.codec_context.colorspace = int(frame.colorspace)
            stream.codec_context.color_range = int(frame.color_range)
        self.stream = stream
        for index, (source_stream, _) in list(self._copies.items()):
            copy = output.add_stream_from_template(source_stream)
            copy.metadata.update(source_stream.metadata)
            self._copies[index] = (source_stream, copy)
        self.size = (width, height)

    def write(self, frame, pixels: np.ndarray) -> None:
        import av

        height, width = pixels.shape[:2]
        if self.stream is None:
            self._start(frame, width, height)
        elif (width, height) != self.size:
            raise ValueError(f"frame of {width}×{height} in a {self.size[0]}×{self.size[1]} video")
        styled = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        styled = styled.reformat(format=self._pixel_format, dst_colorspace=self._colorspace)
        pts = frame.pts if frame.pts is not None else self._next_pts
        styled.pts = pts
        styled.time_base = self.video.time_base
        self._next_pts = pts + 1
        self.output.mux(self.stream.encode(styled))
        if self._held:
            held, self._held = self._held, []
            for packet in held:
                self.copy(packet)

    def finish(self) -> None:
        self.output.mux(self.stream.encode(None))
        for packet in self._held:
            self.copy(packet)
        self._held = []


# --- Styling frames ---------------------------------------------------------------------------


class FrameStyler:
    """A transfer's frame function: `Stylizer` → post-processing → smoothing → strength.

    Args:
        stylizer: The loaded style; None when ``strength`` is 0 (frames pass unchanged).
        config: The transfer's options (strength, preserve-color, tiling, stroke size,
            detail, ``max_size``, ``temporal_smoothing``).
        post: The post-processing to apply at full strength.
        tile_progress: Wraps the tile steps of a tiled frame.

    Attributes:
        working_size: (width, height) the generator ran at on the last frame.
    """

    def __init__(
        self,
        stylizer: Stylizer | None,
        config: TransferConfig,
        post: PostProcess,
        tile_progress: Callable[[Iterable], Iterable] | None = None,
    ):
        from gan_style.temporal import TemporalSmoother

        self.stylizer = stylizer
        self.config = config
        self.post = post
        self.tile_progress = tile_progress
        self.smoother = TemporalSmoother(config.temporal_smoothing)
        self.working_size: tuple[int, int] | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        import numpy as np
        from PIL import Image

        from gan_style.postprocess import blend
        from gan_style.transfer import limit_size

        config = self.config
        image = limit_size(Image.fromarray(frame, "RGB"), config.max_size)
        pixels = np.asarray(image)
        if self.stylizer is None or config.strength == 0:
            return pixels
        styled, self.working_size = self.stylizer.apply_at_working_size(
            image,
            strength=1.0,
            preserve_color=config.preserve_color,
            tile=config.tile,
            memory_budget=config.memory_budget_mb * 2**20,
            progress=self.tile_progress,
            stroke_size=config.stroke_size,
            detail=config.detail,
        )
        result = np.asarray(styled)
        if self.post.active:
            result = self.post.apply(result, pixels)
        result = self.smoother(pixels, result)
        return blend(pixels, result, config.strength)
