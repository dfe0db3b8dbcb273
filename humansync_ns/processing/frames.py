"""Frame extraction: every frame of a video file (PyAV) or of a frame folder, at its native rate,
written as `images/<video>/frame_%06d.png` plus `images_2/`, `images_4/`, ... downscaled copies
(floor division of the size, as `ns-process-data` does)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from PIL import Image
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FRAME_NAME = "frame_{:06d}.png"


class FrameExtractionError(ValueError):
    """A video or frame folder cannot be read."""


@dataclass(frozen=True)
class ExtractedVideo:
    """What was written for one video."""

    name: str
    num_frames: int
    width: int
    height: int
    container_fps: Optional[float]
    """Frame rate stated by the video container (None for frame folders)."""


def find_video_sources(videos_dir: Path) -> dict[str, Path]:
    """Video files and frame folders in `videos_dir`, by name (file stem / folder name)."""
    videos_dir = Path(videos_dir)
    if not videos_dir.is_dir():
        raise FrameExtractionError(f"{videos_dir}: videos folder does not exist")
    sources: dict[str, Path] = {}
    for path in sorted(videos_dir.iterdir()):
        is_video = path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES
        is_folder = path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())
        if not (is_video or is_folder):
            continue
        name = path.stem if is_video else path.name
        if name in sources:
            raise FrameExtractionError(f"{videos_dir}: two sources for video '{name}': {sources[name].name} and {path.name}")
        sources[name] = path
    if not sources:
        raise FrameExtractionError(f"{videos_dir}: no video files ({', '.join(VIDEO_SUFFIXES)}) or frame folders found")
    return sources


def frame_folders(output_dir: Path, name: str, num_downscales: int) -> list[Path]:
    """Where one video's frames go: `images/<name>/`, then `images_<2^k>/<name>/` for k = 1..num_downscales."""
    return [output_dir / "images" / name] + [output_dir / f"images_{2**k}" / name for k in range(1, num_downscales + 1)]


def frame_size(source: Path) -> tuple[int, int]:
    """(width, height) of a video file's stream or of a frame folder's first image, without decoding."""
    if source.is_dir():
        files = _image_files(source)
        if not files:
            raise FrameExtractionError(f"{source}: no frames")
        try:
            with Image.open(files[0]) as image:
                return image.size
        except OSError as err:
            raise FrameExtractionError(f"{files[0]}: cannot read frame ({err})") from err
    container, stream = _open_video(source)
    with container:
        return stream.codec_context.width, stream.codec_context.height


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _frames_of_folder(folder: Path) -> tuple[Iterator[Image.Image], int, None]:
    files = _image_files(folder)

    def images() -> Iterator[Image.Image]:
        for path in files:
            try:
                with Image.open(path) as image:
                    yield image.convert("RGB")
            except OSError as err:
                raise FrameExtractionError(f"{path}: cannot read frame ({err})") from err

    return images(), len(files), None


def _open_video(path: Path) -> tuple[Any, Any]:
    """PyAV's (container, first video stream) of a video file."""
    import av  # PyAV, imported here so the rest of the package does not need it

    try:
        container = av.open(str(path))
    except Exception as err:  # PyAV raises several error types for unreadable files
        raise FrameExtractionError(f"{path}: cannot open video ({err})") from err
    if not container.streams.video:
        container.close()
        raise FrameExtractionError(f"{path}: has no video stream")
    return container, container.streams.video[0]


def _frames_of_video(path: Path) -> tuple[Iterator[Image.Image], int, Optional[float]]:
    container, stream = _open_video(path)
    stream.thread_type = "AUTO"
    fps = float(stream.average_rate) if stream.average_rate else None

    def images() -> Iterator[Image.Image]:
        try:
            for frame in container.decode(stream):
                yield frame.to_image()
        except Exception as err:
            raise FrameExtractionError(f"{path}: decoding failed ({err})") from err
        finally:
            container.close()

    return images(), int(stream.frames or 0), fps


def extract_frames(source: Path, output_dir: Path, name: str, num_downscales: int = 2,
                   max_frames: Optional[int] = None, png_compress_level: int = 3) -> ExtractedVideo:
    """Writes every frame of `source` (video file or frame folder) into `output_dir`, replacing
    same-named frames and touching no other file.

    Args:
        source: A video file or a folder of images (sorted by file name).
        output_dir: The data folder; frames go to `images/<name>/` and `images_<2^k>/<name>/`.
        name: The video's name.
        num_downscales: Number of downscaled copies (factors 2, 4, ..., 2^num_downscales).
        max_frames: Stop after this many frames (None: all).
    """
    frames, expected, fps = _frames_of_video(source) if source.is_file() else _frames_of_folder(source)
    factors = [2**k for k in range(1, num_downscales + 1)]
    folders = frame_folders(output_dir, name, num_downscales)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    total = min(expected, max_frames) if (expected and max_frames) else (expected or max_frames)
    count, size = 0, (0, 0)
    columns = (TextColumn(f"[bold]{name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("frames", total=total or None)
        for image in frames:
            if max_frames is not None and count >= max_frames:
                break
            if count == 0:
                size = image.size
            elif image.size != size:
                raise FrameExtractionError(f"{source}: frame {count} is {image.size[0]}x{image.size[1]}, earlier frames {size[0]}x{size[1]}")
            image.save(folders[0] / FRAME_NAME.format(count), compress_level=png_compress_level)
            for factor, folder in zip(factors, folders[1:]):
                small = image.resize((size[0] // factor, size[1] // factor), resample=Image.Resampling.BOX)
                small.save(folder / FRAME_NAME.format(count), compress_level=png_compress_level)
            count += 1
            progress.advance(task)
    if count == 0:
        raise FrameExtractionError(f"{source}: no frames")
    return ExtractedVideo(name=name, num_frames=count, width=size[0], height=size[1], container_fps=fps)
