"""A simulated Pi camera facing the athlete: synthetic RGB frames with coloured markers.

The scene is an orthographic frontal view (the camera faces the athlete, 2-3 m away):
lab x (+ = athlete's right) maps to image left, z (up) to image up, ``px_per_mm``
pixels per millimetre. Four markers (colours in
:data:`station.analysis.markers.DEFAULT_MARKERS`): the left and right ASIS (front of the
pelvis; the camera is in front), the knee centre and the ankle of the stance leg. They
move with an :class:`AthleteMotion` (pelvic obliquity, knee FPPA, squat depth, ML
sway), built so that the angles the markers show in the image plane *are* the
motion's true angles:

- pelvis: centre C, half-width ``pelvis_half_width_mm``; the swing-side ASIS sits lower
  by ``2 w sin(obliquity)``;
- knee: placed on the thigh/shank triangle between the stance ASIS and the ankle with
  the true FPPA at the knee, on the medial side for valgus (+).

Realism the tracker must cope with: sensor noise, motion blur (each marker is drawn at
several instants of the exposure and averaged), occasional occlusion (a hand covers
part or all of a marker for 0.1-0.4 s), dropped frames, a camera roll. Each frame's
truth (angles, marker positions, visible fraction per marker) is logged in
:attr:`SimCamera.truth_log`.

Timestamps: frame i is exposed around ``t0_ns + t_s * 1e9`` on CLOCK_MONOTONIC
(``time.monotonic_ns()``), the clock the load cells use; ``t0_ns`` is the trial start
shared with the simulated load cells, so video and force line up exactly as on a Pi.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from hardware.base import Camera, VideoFrame
from station.core.errors import ConflictError, HardwareError
from station.core.geometry import Leg
from station.core.markers import DEFAULT_MARKERS, MarkerSpec

#: Keys an AthleteMotion returns, arrays of the same shape as ``t_s``.
POSE_KEYS = ("pelvic_obliquity_deg", "knee_fppa_deg", "depth_mm", "sway_ml_mm")


class AthleteMotion(Protocol):
    """What the simulated camera needs to know about the athlete."""

    stance_leg: Leg

    def pose_at(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """Pose at trial times ``t_s`` (s): arrays keyed by :data:`POSE_KEYS`."""
        ...


def _rep_depth_mm(t_s: np.ndarray, reps: Sequence[Mapping[str, Any]], depth_mm: float) -> np.ndarray:
    """Squat depth: raised-cosine from start to bottom and back to end of each rep."""
    d = np.zeros_like(t_s, dtype=float)
    for rep in reps:
        start, end = float(rep["start_s"]), float(rep["end_s"])
        bottom = float(rep.get("bottom_s", (start + end) / 2))
        down = (t_s >= start) & (t_s < bottom)
        up = (t_s >= bottom) & (t_s <= end)
        d[down] = depth_mm * 0.5 * (1 - np.cos(np.pi * (t_s[down] - start) / max(bottom - start, 1e-6)))
        d[up] = depth_mm * 0.5 * (1 + np.cos(np.pi * (t_s[up] - bottom) / max(end - bottom, 1e-6)))
    return d


def _minjerk_depth_mm(t_s: np.ndarray, reps: Sequence[Mapping[str, Any]], depth_mm: float) -> np.ndarray:
    """The simulator's squat: minimum-jerk descent over 45 % of the rep, a hold that
    centres on ``bottom_s``, minimum-jerk rise (:func:`hardware.sim.athlete.minjerk`,
    Flash & Hogan 1985), so the pelvis moves as the force plates' centre of mass."""
    from hardware.sim.athlete import minjerk

    d = np.zeros_like(t_s, dtype=float)
    for rep in reps:
        start, end = float(rep["start_s"]), float(rep["end_s"])
        t_down = 0.45 * (end - start)
        t_hold = max(0.0, 2 * (float(rep.get("bottom_s", start + t_down)) - start - t_down))
        p1, _ = minjerk(t_s, start, t_down)
        p2, _ = minjerk(t_s, start + t_down + t_hold, end - start - t_down - t_hold)
        d += depth_mm * (p1 - p2)
    return d


@dataclass
class SquatMotion:
    """A standalone single-leg squat: ``n_reps`` reps with random peak drop and valgus.

    Used where no simulated trial is at hand (camera-only tests, the benchmark). Angles
    rise with squat depth from a baseline to the rep's peak at the bottom.
    """

    stance_leg: Leg = "left"
    seed: int = 0
    n_reps: int = 5
    first_rep_s: float = 1.0
    rep_duration_s: float = 2.0
    rep_gap_s: float = 1.0
    depth_mm: float = 160.0
    reps: list[dict[str, float]] = field(init=False)
    peak_drop_deg: np.ndarray = field(init=False)
    peak_fppa_deg: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.peak_drop_deg = rng.uniform(2.0, 9.0, self.n_reps)
        self.peak_fppa_deg = rng.uniform(4.0, 22.0, self.n_reps)
        self._sway = rng.uniform(0, 2 * np.pi, 3)
        self.reps = []
        for i in range(self.n_reps):
            start = self.first_rep_s + i * (self.rep_duration_s + self.rep_gap_s)
            self.reps.append(
                {"start_s": start, "bottom_s": start + self.rep_duration_s / 2, "end_s": start + self.rep_duration_s}
            )

    @property
    def duration_s(self) -> float:
        return self.reps[-1]["end_s"] + self.first_rep_s if self.reps else 5.0

    def pose_at(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        t = np.asarray(t_s, dtype=float)
        depth = _rep_depth_mm(t, self.reps, self.depth_mm)
        frac = depth / self.depth_mm
        drop = np.full_like(t, 0.5)
        fppa = np.full_like(t, 2.0)
        for i, rep in enumerate(self.reps):
            inside = (t >= rep["start_s"]) & (t <= rep["end_s"])
            drop[inside] = 0.5 + (self.peak_drop_deg[i] - 0.5) * frac[inside]
            fppa[inside] = 2.0 + (self.peak_fppa_deg[i] - 2.0) * frac[inside]
        sway = 6.0 * np.sin(2 * np.pi * 0.4 * t + self._sway[0]) + 3.0 * np.sin(2 * np.pi * 1.1 * t + self._sway[1])
        return {"pelvic_obliquity_deg": drop, "knee_fppa_deg": fppa, "depth_mm": depth, "sway_ml_mm": sway}


@dataclass
class TruthMotion:
    """Motion read from a simulated trial's ground truth (:mod:`hardware.sim`).

    ``truth`` has fine-grid ``t_s``, ``pelvic_obliquity_deg``, ``knee_fppa_deg``,
    ``stance_leg``, ``reps`` [{start_s, bottom_s, end_s}], ``cop_mm`` ((N, 2) combined or
    (N, 2, 2) per foot) and, for squats, the centre of mass's vertical displacement
    ``com_z_m`` (as an attribute or in ``extra``). The pelvis goes down with the centre
    of mass (or, without ``com_z_m``, with a raised cosine through each rep's
    ``bottom_s``) and sways with the ML centre of pressure under the stance foot.
    """

    truth: Any
    depth_mm: float = 160.0
    stance_leg: Leg = field(init=False)

    def __post_init__(self) -> None:
        tr = self.truth
        leg = getattr(tr, "stance_leg", None) or "left"
        self.stance_leg = "right" if leg == "right" else "left"
        self._t = np.asarray(tr.t_s, dtype=float)
        cop = np.asarray(getattr(tr, "cop_mm", np.zeros((len(self._t), 2))), dtype=float)
        if cop.ndim == 3:  # per foot: the stance foot's CoP
            cop = cop[:, 0 if self.stance_leg == "left" else 1, :]
        ml = cop[:, 0] if cop.ndim == 2 else np.zeros_like(self._t)
        ml = np.nan_to_num(ml, nan=float(np.nanmean(ml)) if np.isfinite(ml).any() else 0.0)
        self._sway = ml - ml.mean()
        extra = getattr(tr, "extra", None) or {}
        z = getattr(tr, "com_z_m", None)
        if z is None:
            z = extra.get("com_z_m")
        self._depth = None if z is None else -1000.0 * np.asarray(z, dtype=float)
        self._reps = list(getattr(tr, "reps", None) or [])
        if self._depth is None and self._reps and extra.get("depth_m") is not None:
            self._depth = _minjerk_depth_mm(self._t, self._reps, 1000.0 * float(extra["depth_m"]))

    def pose_at(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        t = np.asarray(t_s, dtype=float)
        tr = self.truth
        if self._depth is not None:
            depth = np.interp(t, self._t, self._depth)
        else:
            depth = _rep_depth_mm(t, self._reps, self.depth_mm)
        return {
            "pelvic_obliquity_deg": np.interp(t, self._t, np.asarray(tr.pelvic_obliquity_deg, float)),
            "knee_fppa_deg": np.interp(t, self._t, np.asarray(tr.knee_fppa_deg, float)),
            "depth_mm": depth,
            "sway_ml_mm": np.interp(t, self._t, self._sway),
        }


@dataclass(frozen=True)
class Occlusion:
    """A hand over marker ``marker`` from ``start_s`` for ``duration_s``, hiding ``covered``
    (0-1) of it from the side ``side`` (+1: from image right, -1: from image left)."""

    marker: int
    start_s: float
    duration_s: float
    covered: float
    side: int


def _segment_fraction(e: np.ndarray) -> np.ndarray:
    """Area fraction of a unit disc beyond the line at signed offset ``e`` (-1..1)."""
    d = np.clip(np.abs(e), 0, 1)
    seg = (np.arccos(d) - d * np.sqrt(1 - d * d)) / np.pi
    return np.where(e >= 0, seg, 1 - seg)


_E_TABLE = np.linspace(-1, 1, 401)
_F_TABLE = _segment_fraction(_E_TABLE)  # decreasing in e


def _offset_for_covered(covered: float) -> float:
    """Offset of the occluder's edge (in radii) that covers ``covered`` of the disc."""
    return float(np.interp(covered, _F_TABLE[::-1], _E_TABLE[::-1]))


class SimCamera(Camera):
    """Synthetic frames of an athlete with coloured markers; see the module docstring.

    Parameters
    ----------
    motion
        The athlete (a :class:`SquatMotion`, a :class:`TruthMotion` of a simulated
        trial, or any :class:`AthleteMotion`); by default an athlete squatting on the
        left leg for ever (the live station's picture). :meth:`set_motion` swaps it
        when a simulated trial starts.
    width, height, fps
        Frame size and rate.
    seed
        Seeds noise, occlusions and dropped frames.
    t0_ns
        CLOCK_MONOTONIC time of trial time 0; by default taken at :meth:`start`.
    roll_deg
        Camera roll: a level line appears at this angle (clockwise on screen).
    scene
        ``"athlete"`` or ``"level_bar"`` (a level bar with the two pelvis-colour markers
        400 mm apart, for the view calibration).
    occlusions_per_s, drop_rate
        Mean rate of occlusion events (drawn for the first ``duration_s``) and
        probability that a frame is dropped.
    truth_log_frames
        How many frames' truth :attr:`truth_log` keeps (the most recent).
    paced
        Live use (default): sleep until each frame's time, and skip the frames a slow
        reader missed, as a real camera does. Unpaced returns every frame at once
        (tests, offline rendering).
    """

    def __init__(
        self,
        motion: AthleteMotion | None = None,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        seed: int = 0,
        t0_ns: int | None = None,
        roll_deg: float = 0.0,
        scene: Literal["athlete", "level_bar"] = "athlete",
        px_per_mm: float | None = None,
        noise_sd: float = 4.0,
        exposure_s: float = 0.008,
        occlusions_per_s: float = 0.25,
        drop_rate: float = 0.0,
        paced: bool = True,
        markers: Sequence[MarkerSpec] = DEFAULT_MARKERS,
        marker_diameter_mm: float = 30.0,
        pelvis_half_width_mm: float = 120.0,
        duration_s: float = 600.0,
        unplugged: bool = False,
        truth_log_frames: int = 36_000,
    ) -> None:
        if scene == "athlete" and motion is None:
            motion = SquatMotion(seed=seed, n_reps=int(duration_s // 3))
        self.motion = motion
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.t0_ns = t0_ns
        self.roll_deg = float(roll_deg)
        self.scene = scene
        self.px_per_mm = px_per_mm if px_per_mm is not None else 0.42 * self.height / 480
        self.noise_sd = noise_sd
        self.exposure_s = exposure_s
        self.drop_rate = drop_rate
        self.paced = paced
        self.markers = tuple(markers)
        self.marker_radius_px = marker_diameter_mm / 2 * self.px_per_mm
        self.pelvis_half_width_mm = pelvis_half_width_mm
        self.unplugged = unplugged
        # Bounded, so a live camera running for hours does not grow without end.
        self.truth_log: deque[dict[str, Any]] = deque(maxlen=truth_log_frames)
        self._rng = np.random.default_rng(seed)
        self._sensor_index = 0
        self._started = False
        self._recording: Any = None
        self._rec_lock = threading.Lock()  # the recorder may stop from another thread
        self._source: Any = None
        self._followed_truth: Any = None
        self._background = self._make_background()
        self._noise = self._rng.normal(0, noise_sd, (4, self.height, self.width, 3)).astype(np.int16)
        self.occlusions = self._make_occlusions(occlusions_per_s, duration_s)

    # -- Camera interface -------------------------------------------------------------

    def start(self) -> None:
        if self.unplugged:
            raise HardwareError(
                "simulated camera is unplugged",
                hint="Plug the camera in, or set STATION_CAMERA=none to record force data only.",
            )
        if self.t0_ns is None:
            self.t0_ns = time.monotonic_ns()
        self._started = True

    def stop(self) -> None:
        """Stop; a recording still running is finished (call stop_recording to get it)."""
        if self._recording is not None:
            with contextlib.suppress(ConflictError):  # stopped meanwhile by another thread
                self.stop_recording()
        self._started = False

    def read_frame(self) -> VideoFrame:
        if not self._started:
            self.start()
        self._sync_with_source()
        assert self.t0_ns is not None
        while self.drop_rate > 0 and self._rng.random() < self.drop_rate:
            self._sensor_index += 1  # the sensor exposed a frame nobody received
        if self.paced:  # a late reader gets the newest frame, the others are lost
            due = int((time.monotonic_ns() - self.t0_ns) * self.fps // 1e9)
            self._sensor_index = max(self._sensor_index, due)
        i = self._sensor_index
        self._sensor_index += 1
        t_s = i / self.fps
        t_ns = self.t0_ns + round(t_s * 1e9)
        if self.paced:
            wait = (t_ns - time.monotonic_ns()) / 1e9
            if wait > 0:
                time.sleep(wait)
        image, truth = self.render(t_s)
        truth.update(index=i, t_ns=t_ns)
        self.truth_log.append(truth)
        frame = VideoFrame(index=i, t_ns=t_ns, image=image)
        with self._rec_lock:
            if self._recording is not None:
                self._recording.write(frame)
        return frame

    def set_motion(self, motion: AthleteMotion, *, t0_ns: int) -> None:
        """Show another athlete from now on; ``t0_ns`` is its trial time 0 (CLOCK_MONOTONIC).

        The frame counter continues from the frame due now, so timestamps stay on the
        camera's frame grid relative to the new ``t0_ns``.
        """
        self.motion = motion
        self.scene = "athlete"
        self.t0_ns = int(t0_ns)
        if self.paced:
            self._sensor_index = max(0, int((time.monotonic_ns() - self.t0_ns) * self.fps // 1e9))
        elif self.truth_log:  # continue after the last frame: timestamps never go back
            after = int(self.truth_log[-1]["t_ns"]) + 1 - self.t0_ns
            self._sensor_index = max(0, -int(-after * self.fps // 1e9))
        else:
            self._sensor_index = 0

    def follow(self, source: Any) -> None:
        """Film the athlete a :class:`hardware.sim.SimLoadCellSource` simulates.

        Before each frame the camera looks at the source's ``scenario_truth``; when a new
        protocol starts it switches to that truth (:class:`TruthMotion`), with the
        protocol's time zero ``scenario_start_ns`` on the shared CLOCK_MONOTONIC, so video
        and force show the same movement at the same time.
        """
        self._source = source
        self._followed_truth = None
        self._sync_with_source()

    def _sync_with_source(self) -> None:
        source = self._source
        if source is None:
            return
        truth = source.scenario_truth
        if truth is not None and truth is not self._followed_truth and source.scenario_start_ns is not None:
            self._followed_truth = truth
            self.set_motion(TruthMotion(truth), t0_ns=int(source.scenario_start_ns))

    def start_recording(self, path: str | Path) -> None:
        """Record every frame read from now on to ``path`` (MP4/H.264 + timestamps)."""
        from hardware.video_file import VideoWriter

        with self._rec_lock:
            if self._recording is not None:
                raise ConflictError("the camera is already recording", hint="Stop the running recording first.")
            self._recording = VideoWriter(path, width=self.width, height=self.height, fps=self.fps)

    def stop_recording(self) -> Any:
        """Finish the file; returns a :class:`hardware.video_file.RecordedVideo`."""
        with self._rec_lock:
            if self._recording is None:
                raise ConflictError("the camera is not recording", hint="Call start_recording first.")
            rec, self._recording = self._recording, None
            return rec.close()

    # -- truth -----------------------------------------------------------------------

    def truth_arrays(self) -> dict[str, np.ndarray]:
        """Per delivered frame: t_ns, t_s, true angles, positions_px (T, M, 2), visible (T, M)."""
        log = self.truth_log
        keys = ("t_ns", "t_s", "pelvic_obliquity_deg", "knee_fppa_deg", "depth_mm")
        out = {k: np.array([r[k] for r in log]) for k in keys if log and k in log[0]}
        out["positions_px"] = np.array([r["positions_px"] for r in log])
        out["visible"] = np.array([r["visible"] for r in log])
        return out

    # -- scene -----------------------------------------------------------------------

    def _to_image(self, x_mm: np.ndarray, z_mm: np.ndarray) -> np.ndarray:
        """Lab frontal-plane (x, z) mm -> image (u, v) px, camera roll applied."""
        s = self.px_per_mm
        cu, cv = (self.width - 1) / 2, (self.height - 1) / 2
        floor_v = self.height - 0.06 * self.height
        u = -np.asarray(x_mm) * s
        v = floor_v - np.asarray(z_mm) * s - cv
        a = np.deg2rad(self.roll_deg)
        return np.stack([cu + u * np.cos(a) - v * np.sin(a), cv + u * np.sin(a) + v * np.cos(a)], axis=-1)

    def _skeleton_mm(self, pose: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Marker and joint positions (x, z) mm for pose arrays of shape (K,)."""
        assert self.motion is not None
        sgn = -1.0 if self.motion.stance_leg == "left" else 1.0
        phi = np.deg2rad(pose["pelvic_obliquity_deg"])
        alpha = np.deg2rad(pose["knee_fppa_deg"])
        w = self.pelvis_half_width_mm
        ankle = np.stack([np.full_like(phi, sgn * 150.0), np.full_like(phi, 80.0)], axis=-1)
        cx = sgn * 60.0 + pose["sway_ml_mm"]
        cz = 950.0 - pose["depth_mm"]
        stance = np.stack([cx + sgn * w * np.cos(phi), cz + w * np.sin(phi)], axis=-1)
        swing = np.stack([cx - sgn * w * np.cos(phi), cz - w * np.sin(phi)], axis=-1)
        # Knee on the thigh/shank triangle with the true FPPA at the knee (law of cosines).
        e = ankle - stance
        dist = np.linalg.norm(e, axis=-1)
        eh = e / dist[:, None]
        ratio = 1.1  # projected ASIS-knee over knee-ankle length
        b = dist / np.sqrt(ratio**2 + 1 + 2 * ratio * np.cos(np.abs(alpha)))
        a = ratio * b
        beta = np.arcsin(np.clip(b * np.sin(np.abs(alpha)) / dist, -1, 1))
        n = np.stack([-eh[:, 1], eh[:, 0]], axis=-1)
        n *= np.where(n[:, 0] * -sgn >= 0, 1.0, -1.0)[:, None]  # perpendicular pointing medially
        knee = stance + a[:, None] * (np.cos(beta)[:, None] * eh + (np.sin(beta) * np.sign(alpha))[:, None] * n)
        return {"pelvis_left": stance if sgn < 0 else swing, "pelvis_right": swing if sgn < 0 else stance,
                "knee": knee, "ankle": ankle, "centre": np.stack([cx, cz], axis=-1)}

    def _make_background(self) -> np.ndarray:
        h, w = self.height, self.width
        v = np.linspace(0, 1, h)[:, None]
        u = np.linspace(0, 1, w)[None, :]
        wall = 185 - 25 * v - 10 * u
        img = np.repeat(wall[:, :, None], 3, axis=2) * np.array([1.0, 0.98, 0.93])
        floor = int(h * 0.92)
        img[floor:] = np.array([120, 115, 110])
        return np.clip(img, 0, 255).astype(np.uint8)

    def _make_occlusions(self, per_s: float, duration_s: float) -> list[Occlusion]:
        if per_s <= 0 or self.scene != "athlete":
            return []
        out: list[Occlusion] = []
        t = float(self._rng.exponential(1 / per_s)) + 0.5
        while t < duration_s:
            dur = float(self._rng.uniform(0.1, 0.4))
            out.append(
                Occlusion(
                    marker=int(self._rng.integers(len(self.markers))),
                    start_s=t,
                    duration_s=dur,
                    covered=float(self._rng.choice([self._rng.uniform(0.05, 0.15), self._rng.uniform(0.3, 0.7), 1.0])),
                    side=int(self._rng.choice([-1, 1])),
                )
            )
            t += dur + float(self._rng.exponential(1 / per_s))
        return out

    def render(self, t_s: float) -> tuple[np.ndarray, dict[str, Any]]:
        """The frame exposed around trial time ``t_s`` and its truth."""
        img = self._background.astype(np.float32)
        n_sub = 4
        ts = t_s + np.linspace(-self.exposure_s / 2, self.exposure_s / 2, n_sub)
        names = [m.name for m in self.markers]
        visible = np.ones(len(self.markers))
        truth: dict[str, Any] = {"t_s": t_s}
        if self.scene == "level_bar":
            mid = np.array([[-200.0, 900.0], [200.0, 900.0]])
            pts = self._to_image(mid[:, 0], mid[:, 1])
            _draw_segment(img, pts[0], pts[1], 12 * self.px_per_mm, (70, 60, 50))
            sub = {names[0]: np.repeat(pts[1:2], n_sub, 0), names[1]: np.repeat(pts[0:1], n_sub, 0)}
            positions = np.full((len(self.markers), 2), np.nan)
            positions[0], positions[1] = pts[1], pts[0]
            visible[2:] = 0
        else:
            assert self.motion is not None
            pose = self.motion.pose_at(np.append(ts, t_s))
            sk = {k: self._to_image(v[..., 0], v[..., 1]) for k, v in self._skeleton_mm(pose).items()}
            truth.update({k: float(pose[k][-1]) for k in POSE_KEYS})
            self._draw_body(img, {k: v[-1] for k, v in sk.items()})
            sub = {k: sk[k][:n_sub] for k in names if k in sk}
            positions = np.array([sk[k][-1] if k in sk else (np.nan, np.nan) for k in names])
        r = self.marker_radius_px
        for spec in self.markers:
            if spec.name not in sub:
                continue
            _draw_blurred_disc(img, sub[spec.name], r, spec.rgb)
        for occ in self.occlusions:
            if occ.start_s <= t_s < occ.start_s + occ.duration_s:
                centre = positions[occ.marker]
                if np.all(np.isfinite(centre)):
                    visible[occ.marker] = 1 - occ.covered
                    _draw_occluder(img, centre, r, occ)
        img += self._noise[self._rng.integers(len(self._noise))]
        frame = np.clip(img, 0, 255).astype(np.uint8)
        truth.update(positions_px=positions, visible=visible)
        return frame, truth

    def _draw_body(self, img: np.ndarray, sk: Mapping[str, np.ndarray]) -> None:
        s = self.px_per_mm
        shorts, skin, shirt = (45, 50, 72), (205, 160, 135), (70, 72, 80)
        pl, pr = sk["pelvis_left"], sk["pelvis_right"]
        centre = sk["centre"]
        top = centre + self._to_image(np.array(0.0), np.array(600.0)) - self._to_image(np.array(0.0), np.array(0.0))
        _draw_segment(img, centre, top, 170 * s, shirt)
        _draw_segment(img, pl, pr, 70 * s, shorts)
        stance_hip = pl if self.motion is not None and self.motion.stance_leg == "left" else pr
        swing_hip = pr if stance_hip is pl else pl
        _draw_segment(img, stance_hip, sk["knee"], 65 * s, skin)
        _draw_segment(img, sk["knee"], sk["ankle"], 50 * s, skin)
        drop = self._to_image(np.array(0.0), np.array(0.0)) - self._to_image(np.array(0.0), np.array(330.0))
        swing_knee = swing_hip + drop
        _draw_segment(img, swing_hip, swing_knee, 65 * s, skin)
        _draw_segment(img, swing_knee, swing_knee + drop * 0.9, 50 * s, skin)


def _patch(img: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
    h, w = img.shape[:2]
    r0, r1 = max(0, int(np.floor(lo[1]))), min(h, int(np.ceil(hi[1])) + 1)
    c0, c1 = max(0, int(np.floor(lo[0]))), min(w, int(np.ceil(hi[0])) + 1)
    if r0 >= r1 or c0 >= c1:
        return None
    # Broadcastable row/column coordinates: no full-size index grids to build.
    uu = np.arange(c0, c1, dtype=np.float32)[None, :]
    vv = np.arange(r0, r1, dtype=np.float32)[:, None]
    return slice(r0, r1), slice(c0, c1), uu, vv


def _blend(img: np.ndarray, rs: slice, cs: slice, cover: np.ndarray, rgb: Sequence[int]) -> None:
    """Alpha-blend ``rgb`` with coverage ``cover`` (0-1) into the float32 image, in place."""
    patch = img[rs, cs]
    patch += (np.asarray(rgb, np.float32) - patch) * cover[:, :, None]


def _fill(img: np.ndarray, rs: slice, cs: slice, inside: np.ndarray, rgb: Sequence[int]) -> None:
    """Paint ``rgb`` where ``inside`` (hard edges: cheap, for the body, not the markers)."""
    np.copyto(img[rs, cs], np.asarray(rgb, np.float32), where=inside[:, :, None])


def _draw_segment(img: np.ndarray, p0: np.ndarray, p1: np.ndarray, half_width: float, rgb: Sequence[int]) -> None:
    """A thick line (a capsule) from p0 to p1, hard-edged."""
    lo = np.minimum(p0, p1) - half_width - 1
    hi = np.maximum(p0, p1) + half_width + 1
    p = _patch(img, lo, hi)
    if p is None:
        return
    rs, cs, uu, vv = p
    d = p1 - p0
    ll = float(d @ d) or 1e-9
    tt = np.clip(((uu - p0[0]) * d[0] + (vv - p0[1]) * d[1]) / ll, 0, 1)
    dist2 = (uu - (p0[0] + tt * d[0])) ** 2 + (vv - (p0[1] + tt * d[1])) ** 2
    _fill(img, rs, cs, dist2 <= half_width**2, rgb)


def _draw_blurred_disc(img: np.ndarray, centres: np.ndarray, radius: float, rgb: Sequence[int]) -> None:
    """A disc swept over the exposure: coverage averaged over the sub-frame centres."""
    lo = centres.min(axis=0) - radius - 1
    hi = centres.max(axis=0) + radius + 1
    p = _patch(img, lo, hi)
    if p is None:
        return
    rs, cs, uu, vv = p
    cover = np.zeros((vv.shape[0], uu.shape[1]), np.float32)
    for cu, cv in centres:
        cover += np.clip(radius + 0.5 - np.hypot(uu - cu, vv - cv), 0, 1)
    _blend(img, rs, cs, cover / len(centres), rgb)


def _draw_occluder(img: np.ndarray, centre: np.ndarray, radius: float, occ: Occlusion) -> None:
    """A hand (skin-coloured box) over the marker, its edge cutting ``occ.covered`` of it."""
    edge_u = centre[0] + occ.side * _offset_for_covered(occ.covered) * radius
    ext = 3 * radius
    lo = np.array([edge_u if occ.side > 0 else centre[0] - ext, centre[1] - ext])
    hi = np.array([centre[0] + ext if occ.side > 0 else edge_u, centre[1] + ext])
    p = _patch(img, lo - 1, hi + 1)
    if p is None:
        return
    rs, cs, uu, vv = p
    cover = np.clip(0.5 + occ.side * (uu - edge_u), 0, 1) * np.clip(ext + 0.5 - np.abs(vv - centre[1]), 0, 1)
    _blend(img, rs, cs, cover, (196, 152, 128))

