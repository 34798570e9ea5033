"""Anomaly math on a metric's trailing history: robust z-score, z-score, percent change (pure)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from rockway.verify.model import AnomalySpec

MAD_SCALE = 1.4826  # makes the MAD a consistent estimator of the standard deviation for normal data
MEAN_AD_SCALE = 1.2533  # the same for the mean absolute deviation (used when the MAD is 0)


@dataclass(frozen=True)
class Verdict:
    """The judgement of one value: judged at all, anomalous, and the bounds it was held to."""

    judged: bool
    anomalous: bool
    history: int  # points in the baseline
    lower: float | None = None
    upper: float | None = None
    center: float | None = None  # median or mean of the baseline
    spread: float | None = None  # scaled MAD or standard deviation (z methods)
    score: float | None = None  # z-score, or percent change for pct_change
    message: str = ""

    def bounds(self) -> str:
        """`[lower, upper]` with open sides as ±inf, for reports."""
        lo = "-inf" if self.lower is None else _fmt(self.lower)
        hi = "+inf" if self.upper is None else _fmt(self.upper)
        return f"[{lo}, {hi}]"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    return float(statistics.median(values))


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median (unscaled)."""
    center = median(values)
    return median([abs(v - center) for v in values])


def robust_scale(values: Sequence[float]) -> float:
    """1.4826·MAD, or 1.2533·mean absolute deviation when the MAD is 0 (more than half the points equal)."""
    scale = MAD_SCALE * mad(values)
    if scale == 0:
        center = median(values)
        scale = MEAN_AD_SCALE * sum(abs(v - center) for v in values) / len(values)
    return scale


def baseline(history: Sequence[float | None], window: int) -> list[float]:
    """The newest `window` usable points (history is newest first; None and NaN are dropped)."""
    usable = [float(v) for v in history if v is not None and not math.isnan(float(v))]
    return usable[:window]


def judge(value: float | None, history: Sequence[float | None], spec: AnomalySpec) -> Verdict:
    """Judge value against history (newest first, flagged points already removed) with spec's method."""
    points = baseline(history, spec.window)
    if value is None:
        return Verdict(judged=False, anomalous=False, history=len(points), message="no value to judge (NULL)")
    if len(points) < spec.min_history:
        return Verdict(judged=False, anomalous=False, history=len(points),
                       message=f"not judged: {len(points)} of {spec.min_history} points of history needed")
    if spec.method == "pct_change":
        return _pct_change(float(value), points, spec)
    if spec.method == "zscore":
        center = statistics.fmean(points)
        spread = statistics.stdev(points) if len(points) > 1 else 0.0
    else:
        center = median(points)
        spread = robust_scale(points)
    return _z(float(value), points, spec, center, spread)


def _z(value: float, points: list[float], spec: AnomalySpec, center: float, spread: float) -> Verdict:
    if spread == 0:
        score = 0.0 if value == center else math.copysign(math.inf, value - center)
    else:
        score = (value - center) / spread
    lower = center - spec.threshold * spread if spec.direction in ("drop", "both") else None
    upper = center + spec.threshold * spread if spec.direction in ("spike", "both") else None
    anomalous = (spec.direction in ("drop", "both") and score < -spec.threshold) or (
        spec.direction in ("spike", "both") and score > spec.threshold)
    what = "robust z" if spec.method == "robust_z" else "z"
    base = "median" if spec.method == "robust_z" else "mean"
    message = (f"{what} = {_fmt(score)} (threshold {spec.threshold:g}, {spec.direction}); {base} {_fmt(center)}, "
               f"scale {_fmt(spread)}, {len(points)} points")
    return Verdict(judged=True, anomalous=anomalous, history=len(points), lower=lower, upper=upper, center=center,
                   spread=spread, score=score, message=message)


def _pct_change(value: float, points: list[float], spec: AnomalySpec) -> Verdict:
    center = median(points)
    if center == 0:
        pct = 0.0 if value == 0 else math.copysign(math.inf, value)
    else:
        pct = (value - center) / abs(center) * 100.0
    check_drop = spec.direction in ("drop", "both") and spec.max_drop_pct is not None
    check_spike = spec.direction in ("spike", "both") and spec.max_spike_pct is not None
    lower = center - abs(center) * spec.max_drop_pct / 100.0 if check_drop and spec.max_drop_pct is not None else None
    upper = center + abs(center) * spec.max_spike_pct / 100.0 if check_spike and spec.max_spike_pct is not None else None
    anomalous = (lower is not None and value < lower) or (upper is not None and value > upper)
    limits = ", ".join(p for p in (f"drop ≤ {spec.max_drop_pct:g}%" if check_drop else "",
                                   f"spike ≤ {spec.max_spike_pct:g}%" if check_spike else "") if p)
    message = f"change {_fmt(pct)}% vs trailing median {_fmt(center)} ({limits}); {len(points)} points"
    return Verdict(judged=True, anomalous=anomalous, history=len(points), lower=lower, upper=upper, center=center,
                   score=pct, message=message)
