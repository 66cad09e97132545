"""Time in a styled video: optical flow, the warping error, and flow-guided smoothing.

A generator styles each frame on its own, so texture that should travel with the scene
flickers instead: the same wall gets new strokes 25 times a second. Two tools here:

- `warping_error`: the standard measure of that flicker (Lai et al. 2018, "Learning Blind
  Video Temporal Consistency"): mean |o_t − warp(o_{t−1})| over the pixels that are visible in
  both frames, the flow and the occlusions taken from the *input* frames, so that a video and
  its styled version are measured along the same motion.
- `TemporalSmoother`: blends each styled frame with the previous *output* frame warped along
  the input's optical flow (``weight`` of the warped frame), on pixels visible in both frames
  where the input itself stayed the same along the flow (`PHOTOMETRIC_LIMIT`; a scene cut
  starts afresh). Since the previous output was itself blended, this is an exponential filter
  along motion paths: strokes stay on the surfaces they were painted on, and occluded or newly
  visible pixels take the new frame as it is, so nothing ghosts there.

Flow is OpenCV's DIS (Kroeger et al. 2016) on the grey input at most `FLOW_SIDE` pixels on
its longer side, scaled back up; occlusions are where the forward and backward flows disagree
(Sundaram et al. 2010, the check Ruder et al. 2016 use for video style transfer).

At import time this module needs only the standard library; numpy and OpenCV load on first use.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FLOW_SIDE = 640
"""Longer side (pixels) the optical flow is computed at; larger frames are shrunk for it."""

PHOTOMETRIC_LIMIT = 24.0
"""The smoother leaves a pixel alone where the input's grey level changed by more than this
many 8-bit levels along the flow: a flow error, a reflection, a scene cut."""

CUT_VISIBLE = 0.5
"""Below this share of pixels that pass both checks, the frame is taken as a scene cut: the
smoother starts afresh from it, blending nothing (where a new scene happens to match the old
one's grey levels, it would otherwise show through)."""


def _grey(frame: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if scale < 1:
        height, width = grey.shape
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def _flow(target: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Flow (float32, h × w × 2) from ``target``'s pixels to where they are in ``reference``."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(target, reference, None)


def flows(
    previous: np.ndarray, current: np.ndarray, photometric: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Backward flow (current → previous) and the visibility mask of two RGB frames.

    Args:
        previous: The earlier frame.
        current: The later one, of the same size.
        photometric: Also count as not visible the pixels whose grey level changed by more
            than this along the flow (at the flow's scale); None: the flow check alone.

    Returns:
        ``(flow, visible)``: (height, width, 2) float32 pixel offsets such that
        ``current[y, x]`` is seen at ``previous[y + flow_y, x + flow_x]``, and a (height, width)
        bool mask of the pixels that pass the forward-backward check (not occluded).
    """
    import cv2
    import numpy as np

    height, width = current.shape[:2]
    scale = min(1.0, FLOW_SIDE / max(height, width))
    current_grey, previous_grey = _grey(current, scale), _grey(previous, scale)
    backward = _flow(current_grey, previous_grey)
    forward = _flow(previous_grey, current_grey)
    # Forward-backward consistency at the flow's own scale.
    forward_there = _remap(forward, backward)
    disagreement = np.sum((backward + forward_there) ** 2, axis=-1)
    magnitude = np.sum(backward**2, axis=-1) + np.sum(forward_there**2, axis=-1)
    visible = disagreement < 0.01 * magnitude + 0.5
    small_height, small_width = backward.shape[:2]
    inside = _lands_inside(backward, small_height, small_width)
    visible &= inside
    if photometric is not None:
        moved = _remap(previous_grey, backward).astype(np.float32)
        visible &= np.abs(current_grey.astype(np.float32) - moved) < photometric
    if scale < 1:
        backward = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
        backward[..., 0] *= width / small_width
        backward[..., 1] *= height / small_height
        visible = cv2.resize(
            visible.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST
        ).astype(bool)
    return backward, visible


@functools.lru_cache(maxsize=4)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates (float32, read-only), kept for the frames of a clip."""
    import numpy as np

    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    rows.flags.writeable = columns.flags.writeable = False
    return rows, columns


def _lands_inside(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    rows, columns = _grid(height, width)
    x, y = columns + flow[..., 0], rows + flow[..., 1]
    return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)


def _remap(image: np.ndarray, flow: np.ndarray, cubic: bool = False) -> np.ndarray:
    import cv2

    rows, columns = _grid(*flow.shape[:2])
    map_x, map_y = columns + flow[..., 0], rows + flow[..., 1]
    interpolation = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    return cv2.remap(image, map_x, map_y, interpolation, borderMode=cv2.BORDER_REPLICATE)


def warp(image: np.ndarray, flow: np.ndarray, cubic: bool = False) -> np.ndarray:
    """``image`` (the previous frame) brought to the current frame along a backward ``flow``.

    Bilinear, as the warping error is defined; ``cubic`` for the smoother, whose output is
    warped again at every frame, so that sub-pixel motion does not blur it frame after frame.
    """
    return _remap(image, flow, cubic)


def warping_error(frames: list[np.ndarray], inputs: list[np.ndarray]) -> float:
    """Mean |o_t − warp(o_{t−1})| over visible pixels, in 8-bit levels, over all pairs.

    Args:
        frames: The frames to measure (uint8 RGB), e.g. a styled video.
        inputs: The input frames the flow and the occlusions are computed from (same sizes);
            pass ``frames`` itself for the input video's own error.
    """
    import numpy as np

    if len(frames) != len(inputs) or len(frames) < 2:
        raise ValueError("warping_error needs at least two frames and one input per frame")
    total, count = 0.0, 0
    for index in range(1, len(frames)):
        flow, visible = flows(inputs[index - 1], inputs[index])
        warped = warp(frames[index - 1], flow).astype(np.float32)
        difference = np.abs(frames[index].astype(np.float32) - warped).mean(axis=-1)
        total += float(difference[visible].sum())
        count += int(visible.sum())
    return total / max(count, 1)


class TemporalSmoother:
    """Blends each styled frame with the previous output warped along the input's flow.

    Args:
        weight: 0-1: share of the warped previous output on visible pixels (0: off).

    Call it once per frame, in order, with the input frame and its styled version (uint8 RGB
    of one size); it returns the frame to write. A frame of another size starts afresh.
    """

    def __init__(self, weight: float):
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"weight must be in [0, 1), got {weight}")
        self.weight = weight
        self._previous_input: np.ndarray | None = None
        self._previous_output: np.ndarray | None = None

    def __call__(self, frame: np.ndarray, styled: np.ndarray) -> np.ndarray:
        import numpy as np

        previous_input, previous_output = self._previous_input, self._previous_output
        result = styled
        if (
            self.weight > 0
            and previous_input is not None
            and previous_input.shape == frame.shape
            and previous_output.shape == styled.shape
        ):
            import cv2

            flow, visible = flows(previous_input, frame, photometric=PHOTOMETRIC_LIMIT)
            if visible.mean() >= CUT_VISIBLE:
                warped = warp(previous_output, flow, cubic=True)
                blended = cv2.addWeighted(warped, self.weight, styled, 1.0 - self.weight, 0.0)
                result = np.where(visible[..., None], blended, styled)
        self._previous_input, self._previous_output = frame, result
        return result
