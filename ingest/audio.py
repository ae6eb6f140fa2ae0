"""Decoding recordings into 16 kHz float audio, in bounded windows.

The seed system converted whole mp3 files with ffmpeg and failed on large ones. Here PyAV (the
decoder faster-whisper itself uses) decodes packet by packet and yields fixed-size windows, so a
3-hour call never sits in memory at once. Damaged packets are skipped with a count instead of
aborting the file; a file with no decodable audio at all is an :class:`AudioError`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from app.core.errors import AudioError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
#: When cutting a window, look this far back for the quietest 100 ms, so a cut rarely
#: splits a word.
_CUT_SEARCH_SECONDS = 5.0
_CUT_FRAME = SAMPLE_RATE // 10
#: Peak level under which audio counts as digital silence (-60 dBFS: below telephone line
#: noise, so a quiet but real call is never taken for silence).
SILENCE_PEAK = 1e-3


@dataclass
class DecodeReport:
    """What happened while decoding one file (filled in as the windows are read)."""

    channels: int = 0
    seconds: float = 0.0
    damaged_packets: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AudioWindow:
    """``samples`` has shape (channels, n) with 1 or 2 channels; ``offset`` is in seconds."""

    offset: float
    samples: np.ndarray


def decode_windows(
    path: Path,
    *,
    window_seconds: float = 600.0,
    max_seconds: float | None = None,
    max_leading_silence: float | None = None,
    report: DecodeReport | None = None,
) -> Iterator[AudioWindow]:
    """Yield consecutive windows of a recording at 16 kHz, float32, mono or stereo.

    More than two channels are downmixed to mono (we only know how to map two channels to
    agent and customer). Raises :class:`AudioError` for an empty or undecodable file, for one
    longer than ``max_seconds``, and for one whose first ``max_leading_silence`` seconds are
    digital silence (checked while decoding, before any of it is transcribed).
    """
    report = report if report is not None else DecodeReport()
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise AudioError(f"{path}: not a decodable audio file ({_reason(exc)})") from exc

    with container:
        if not container.streams.audio:
            raise AudioError(f"{path}: contains no audio stream")
        stream = container.streams.audio[0]
        channels = 2 if stream.channels == 2 else 1
        report.channels = channels
        if max_seconds is not None and container.duration:
            declared = container.duration / av.time_base
            if declared > max_seconds:
                raise AudioError(
                    f"{path}: recording is {declared / 60:.0f} min long, over the limit of "
                    f"{max_seconds / 60:.0f} min (whisper.max_audio_seconds)"
                )
        resampler = av.AudioResampler(
            format="fltp", layout="stereo" if channels == 2 else "mono", rate=SAMPLE_RATE
        )
        window = int(window_seconds * SAMPLE_RATE)
        search = int(min(_CUT_SEARCH_SECONDS, window_seconds / 10) * SAMPLE_RATE)
        pending: list[np.ndarray] = []
        pending_len = 0
        emitted = 0
        heard = max_leading_silence is None

        for block in _decoded_blocks(container, stream, resampler, report, path):
            pending.append(block)
            pending_len += block.shape[1]
            total = (emitted + pending_len) / SAMPLE_RATE
            if not heard:
                heard = block.size > 0 and float(np.abs(block).max()) >= SILENCE_PEAK
                if not heard and max_leading_silence is not None and total > max_leading_silence:
                    raise AudioError(
                        f"{path}: the first {_span(max_leading_silence)} are silent "
                        "(whisper.max_leading_silence_s): nothing to transcribe"
                    )
            if max_seconds is not None and total > max_seconds:
                raise AudioError(
                    f"{path}: recording runs past the limit of {max_seconds / 60:.0f} min "
                    "(whisper.max_audio_seconds)"
                )
            if pending_len >= window + search:
                buffer = np.concatenate(pending, axis=1)
                cut = _quiet_cut(buffer, window, search)
                yield AudioWindow(emitted / SAMPLE_RATE, buffer[:, :cut])
                emitted += cut
                pending, pending_len = [buffer[:, cut:]], buffer.shape[1] - cut

        if pending_len:
            yield AudioWindow(emitted / SAMPLE_RATE, np.concatenate(pending, axis=1))
            emitted += pending_len
        report.seconds = emitted / SAMPLE_RATE
        if emitted == 0:
            raise AudioError(f"{path}: no decodable audio (file damaged or truncated)")
        if report.damaged_packets:
            report.warnings.append(
                f"{path}: skipped {report.damaged_packets} damaged audio packet(s)"
            )


def _decoded_blocks(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    resampler: av.AudioResampler,
    report: DecodeReport,
    path: Path,
) -> Iterator[np.ndarray]:
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.FFmpegError as exc:
            # A broken container structure past this point: keep what decoded so far.
            report.warnings.append(f"{path}: stopped reading at a damaged spot ({_reason(exc)})")
            break
        try:
            frames = packet.decode()
        except av.FFmpegError:
            report.damaged_packets += 1
            continue
        for frame in frames:
            frame.pts = None  # resampling does not need timestamps; broken ones upset it
            for out in resampler.resample(frame):
                yield out.to_ndarray().astype(np.float32, copy=False)
    for out in resampler.resample(None):
        yield out.to_ndarray().astype(np.float32, copy=False)


def _span(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _quiet_cut(buffer: np.ndarray, window: int, search: int) -> int:
    """Index in the last ``search`` samples before ``window`` where the audio is quietest,
    to cut between words rather than inside one."""
    start = max(0, window - search)
    region = np.abs(buffer[:, start:window]).sum(axis=0)
    n = region.shape[0] // _CUT_FRAME
    if n == 0:
        return window
    energy = region[: n * _CUT_FRAME].reshape(n, _CUT_FRAME).sum(axis=1)
    return start + int(np.argmin(energy)) * _CUT_FRAME + _CUT_FRAME // 2


def declared_seconds(path: Path) -> float | None:
    """The length a recording's header declares, without decoding it (None when unknown or
    unreadable: decoding will say what is wrong)."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return container.duration / av.time_base if container.duration else None
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return None


def is_dual_mono(samples: np.ndarray) -> bool:
    """True when a 2-channel window carries the same signal twice (a mono call saved as
    stereo): transcribing both channels would duplicate every turn."""
    if samples.shape[0] != 2 or samples.shape[1] < 2:
        return False
    left, right = samples
    if not left.any() or not right.any():
        return False
    # Correlation, not equality: lossy codecs and old recordings leave tiny differences.
    return float(np.corrcoef(left, right)[0, 1]) > 0.98


def _reason(exc: BaseException) -> str:
    """FFmpeg's message without its errno and the path we already print."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    line = re.sub(r"^\[Errno -?\d+\]\s*", "", line)
    return re.sub(r":\s*'[^']*'$", "", line)
