"""What a session's journal events add up to: open blockers, metrics, progress (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from git_sessions.events import Event, open_blockers


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    metrics: dict[str, int | float]
    milestones: dict[str, bool]  # text -> done, in the order first set
    blockers: list[str]
    decisions: list[Event]
    next_steps: list[str]  # from the newest handoff
    last: Event | None
    progress_pct: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "events": dict(sorted(self.counts.items())),
            "metrics": dict(sorted(self.metrics.items())),
            "milestones": {
                "done": [m for m, done in self.milestones.items() if done],
                "open": [m for m, done in self.milestones.items() if not done],
            },
            "blockers": self.blockers,
            "decisions": [{"text": d.text, **d.metadata} for d in self.decisions],
            "next_steps": self.next_steps,
            "progress_pct": self.progress_pct,
        }


def summarize(past: Sequence[Event]) -> Summary:
    counts: dict[str, int] = {}
    metrics: dict[str, int | float] = {}
    milestones: dict[str, bool] = {}
    keys: dict[str, str] = {}  # case-insensitive text -> the text first used
    next_steps: list[str] = []
    gauge_times: dict[str, int] = {}
    for event in past:
        counts[event.kind] = counts.get(event.kind, 0) + 1
        meta = event.metadata
        if event.kind == "metric" and isinstance(meta.get("value"), int | float):
            name = str(meta.get("name"))
            if not meta.get("set"):
                metrics[name] = metrics.get(name, 0) + meta["value"]  # a counter adds up
            elif event.time >= gauge_times.get(name, event.time):
                # a gauge (metric --set) takes the newest value, even if recorded retroactively
                metrics[name], gauge_times[name] = meta["value"], event.time
        elif event.kind == "milestone":
            key = keys.setdefault(event.text.lower(), event.text)
            milestones[key] = milestones.get(key, False) or bool(meta.get("done"))
        elif event.kind == "handoff":
            next_steps = [str(s) for s in meta.get("next_steps", [])]
    for name, value in metrics.items():
        if isinstance(value, float):
            metrics[name] = round(value, 6)
    return Summary(
        counts,
        metrics,
        milestones,
        open_blockers(past),
        [e for e in past if e.kind == "decision"],
        next_steps,
        past[-1] if past else None,
        progress(metrics, milestones),
    )


PROGRESS_METRIC = "progress_pct"


def progress(metrics: Mapping[str, int | float], milestones: Mapping[str, bool]) -> float | None:
    """Percent done (seed 002): the `progress_pct` metric if recorded (use `metric --set`),
    else the share of milestones reached, else unknown."""
    if PROGRESS_METRIC in metrics:
        return float(round(min(100.0, max(0.0, metrics[PROGRESS_METRIC])), 1))
    if milestones:
        return round(100.0 * sum(milestones.values()) / len(milestones), 1)
    return None
