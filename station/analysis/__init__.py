"""Pure analysis of force-plate trials (no I/O): contacts, phases, sway, squat, TTS.

Entry points: :func:`analyze_plates` (per-plate force and CoP) and
:func:`analyze_corner_loads` (eight cell loads). See docs/analysis.md.
"""

from station.analysis.report import analyze_corner_loads, analyze_plates

__all__ = ["analyze_corner_loads", "analyze_plates"]
