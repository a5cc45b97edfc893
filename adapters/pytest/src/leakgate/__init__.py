"""leakgate: trace memory allocations, the ``tracemalloc`` way, with native frames.

The module mirrors the standard library's :mod:`tracemalloc` one to one (the
same functions and classes, with the same documented semantics), so that
``import leakgate as tracemalloc`` works in existing code.  On top of it:

* :func:`mark` begins a runtime mark; ``Mark.diff()`` returns what was
  allocated and not freed since, in time proportional to the work done since
  the mark rather than to the size of the heap (per-test checks).
* Under ``leakgate run -- python ...`` (the runtime preloaded), ``malloc``
  calls made by C extensions are traced too: their tracebacks hold native
  frames (``#0 function  file:line  (module+0xoffset)``) after the Python
  frames that led to them.  Such traces are in domain :data:`NATIVE_DOMAIN`
  (1); Python's own allocations are in domain 0, as in tracemalloc (the
  runtime's numbering, the same in reports and suppressions).
* Snapshots are saved in leakgate's snapshot files (``leakgate show FILE``
  reads them), not with pickle.

(PYTEST_DONT_REWRITE: leakgate.pth may import this module before pytest
starts; it holds no assertions to rewrite.)
"""
from __future__ import annotations

import fnmatch
import functools
import json
import linecache
import os.path
from collections.abc import Iterable, Sequence

from . import _leakgate

__all__ = [
    "start", "stop", "is_tracing", "clear_traces", "get_object_traceback",
    "get_traceback_limit", "get_traced_memory", "reset_peak",
    "get_tracemalloc_memory", "take_snapshot", "Snapshot", "Filter",
    "DomainFilter", "BaseFilter", "Frame", "Traceback", "Trace", "Statistic",
    "StatisticDiff", "mark", "Mark", "NATIVE_DOMAIN", "PYTHON_DOMAIN",
]

PYTHON_DOMAIN = _leakgate.PYTHON_DOMAIN  # 0, as in tracemalloc
NATIVE_DOMAIN = _leakgate.NATIVE_DOMAIN
MAX_NFRAME = _leakgate.MAX_NFRAME

# The tracing functions, as module attributes so that they can be replaced
# (tests patch them) and are looked up when called.
_start = _leakgate.start
stop = _leakgate.stop
is_tracing = _leakgate.is_tracing
clear_traces = _leakgate.clear_traces
get_traceback_limit = _leakgate.get_traceback_limit
get_traced_memory = _leakgate.get_traced_memory
reset_peak = _leakgate.reset_peak
get_tracemalloc_memory = _leakgate.get_tracemalloc_memory
_get_traces = _leakgate.get_traces
_get_object_traceback = _leakgate.get_object_traceback


def start(nframe: int = 1) -> None:
    """Start tracing Python memory allocations, keeping at most *nframe*
    frames per traceback (1 to MAX_NFRAME).  Starting again changes only
    the limit of new traces."""
    _start(nframe)


def _format_size(size, sign):
    """'10 B', '12.3 KiB', '+5 MiB': three or four significant digits."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        magnitude = abs(size)
        if unit != "B" and magnitude < 100:
            return f"{size:+.1f} {unit}" if sign else f"{size:.1f} {unit}"
        if magnitude < 10 * 1024 or unit == "TiB":
            return f"{size:+.0f} {unit}" if sign else f"{size:.0f} {unit}"
        size /= 1024


# ---- frames and tracebacks -------------------------------------------------

@functools.total_ordering
class Frame:
    """One frame of a traceback: ``filename`` and ``lineno``.  A native frame
    also has ``function``, ``module`` and ``offset`` (else None)."""

    __slots__ = ("_frame",)

    def __init__(self, frame):
        self._frame = frame

    filename = property(lambda self: self._frame[0])
    lineno = property(lambda self: self._frame[1])
    function = property(lambda self: self._frame[2] if len(self._frame) > 2 else None)
    module = property(lambda self: self._frame[3] if len(self._frame) > 3 else None)
    offset = property(lambda self: self._frame[4] if len(self._frame) > 4 else None)

    @property
    def is_native(self) -> bool:
        return len(self._frame) > 2

    def __eq__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame == other._frame

    def __lt__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        return self._frame < other._frame

    def __hash__(self):
        return hash(self._frame)

    def __str__(self):
        return f"{self.filename}:{self.lineno}"

    def __repr__(self):
        if self.is_native:
            return (f"<Frame filename={self.filename!r} lineno={self.lineno!r} "
                    f"function={self.function!r} module={self.module!r}>")
        return f"<Frame filename={self.filename!r} lineno={self.lineno!r}>"

    def _native_line(self, number):
        where = f"{self.filename}:{self.lineno}" if self.lineno else self.filename
        line = f"  #{number} {self.function or '??'}  {where}"
        if self.module and self.module != self.filename:
            line += f"  ({os.path.basename(self.module)}+{self.offset:#x})"
        return line


_Frame = Frame


@functools.total_ordering
class Traceback(Sequence):
    """A sequence of Frame objects, oldest first.  *frames* come most recent
    first (as traces hold them); *total_nframe* counts the frames before the
    traceback was truncated to the limit."""

    __slots__ = ("_frames", "_total_nframe")

    def __init__(self, frames, total_nframe=None):
        Sequence.__init__(self)
        self._frames = tuple(reversed(frames))
        self._total_nframe = total_nframe

    @property
    def total_nframe(self):
        return self._total_nframe

    def __len__(self):
        return len(self._frames)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(Frame(frame) for frame in self._frames[index])
        return Frame(self._frames[index])

    def __contains__(self, frame):
        return frame._frame in self._frames

    def __hash__(self):
        return hash(self._frames)

    def __eq__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames == other._frames

    def __lt__(self, other):
        if not isinstance(other, Traceback):
            return NotImplemented
        return self._frames < other._frames

    def __str__(self):
        return str(self[0])

    def __repr__(self):
        text = f"<Traceback {tuple(self)}"
        if self._total_nframe is not None:
            text += f" total_nframe={self.total_nframe}"
        return text + ">"

    def format(self, limit=None, most_recent_first=False):
        """Lines as the traceback module writes them for Python frames; a
        native frame reads ``#N function  file:line  (module+0xoffset)``,
        #0 being the most recent.  *limit* > 0 keeps the limit most recent
        frames, < 0 the abs(limit) oldest; *most_recent_first* reverses."""
        frames = list(self)
        if limit is not None:
            frames = frames[-limit:] if limit > 0 else frames[:-limit]
        if most_recent_first:
            frames.reverse()
        native = [f for f in reversed(list(self)) if f.is_native]
        lines = []
        for frame in frames:
            if frame.is_native:
                lines.append(frame._native_line(native.index(frame)))
                continue
            lines.append(f'  File "{frame.filename}", line {frame.lineno}')
            source = linecache.getline(frame.filename, frame.lineno).strip()
            if source:
                lines.append(f"    {source}")
        return lines


def get_object_traceback(obj):
    """The Traceback where the Python object *obj* was allocated, or None
    when it is not traced."""
    frames = _get_object_traceback(obj)
    return Traceback(frames) if frames is not None else None


# ---- traces, statistics ----------------------------------------------------

class Trace:
    """One traced block: ``domain``, ``size`` and ``traceback``."""

    __slots__ = ("_trace",)

    def __init__(self, trace):
        self._trace = trace  # (domain, size, frames, total_nframe)

    domain = property(lambda self: self._trace[0])
    size = property(lambda self: self._trace[1])
    traceback = property(lambda self: Traceback(*self._trace[2:]))

    def __eq__(self, other):
        if not isinstance(other, Trace):
            return NotImplemented
        return self._trace == other._trace

    def __hash__(self):
        return hash(self._trace)

    def __str__(self):
        return f"{self.traceback}: {_format_size(self.size, False)}"

    def __repr__(self):
        return (f"<Trace domain={self.domain} size={_format_size(self.size, False)}, "
                f"traceback={self.traceback!r}>")


class _Traces(Sequence):
    def __init__(self, traces):
        Sequence.__init__(self)
        self._traces = traces

    def __len__(self):
        return len(self._traces)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(Trace(trace) for trace in self._traces[index])
        return Trace(self._traces[index])

    def __contains__(self, trace):
        return trace._trace in self._traces

    def __eq__(self, other):
        if not isinstance(other, _Traces):
            return NotImplemented
        return self._traces == other._traces

    def __repr__(self):
        return f"<Traces len={len(self)}>"


class Statistic:
    """Blocks grouped by a key traceback: ``size`` bytes in ``count`` blocks."""

    __slots__ = ("traceback", "size", "count")

    def __init__(self, traceback, size, count):
        self.traceback = traceback
        self.size = size
        self.count = count

    def __hash__(self):
        return hash((self.traceback, self.size, self.count))

    def __eq__(self, other):
        if not isinstance(other, Statistic):
            return NotImplemented
        return (self.traceback, self.size, self.count) == (
            other.traceback, other.size, other.count)

    def __str__(self):
        text = f"{self.traceback}: size={_format_size(self.size, False)}, count={self.count}"
        if self.count:
            text += f", average={_format_size(self.size / self.count, False)}"
        return text

    def __repr__(self):
        return f"<Statistic traceback={self.traceback!r} size={self.size} count={self.count}>"

    def _sort_key(self):
        return (self.size, self.count, self.traceback)


class StatisticDiff:
    """Statistic of a key traceback in a new snapshot and its change since
    an old one (``size_diff``, ``count_diff``)."""

    __slots__ = ("traceback", "size", "size_diff", "count", "count_diff")

    def __init__(self, traceback, size, size_diff, count, count_diff):
        self.traceback = traceback
        self.size = size
        self.size_diff = size_diff
        self.count = count
        self.count_diff = count_diff

    def _key(self):
        return (self.traceback, self.size, self.size_diff, self.count, self.count_diff)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        if not isinstance(other, StatisticDiff):
            return NotImplemented
        return self._key() == other._key()

    def __str__(self):
        text = (f"{self.traceback}: size={_format_size(self.size, False)} "
                f"({_format_size(self.size_diff, True)}), "
                f"count={self.count} ({self.count_diff:+d})")
        if self.count:
            text += f", average={_format_size(self.size / self.count, False)}"
        return text

    def __repr__(self):
        return (f"<StatisticDiff traceback={self.traceback!r} size={self.size} "
                f"({self.size_diff:+d}) count={self.count} ({self.count_diff:+d})>")

    def _sort_key(self):
        return (abs(self.size_diff), self.size, abs(self.count_diff), self.count,
                self.traceback)


def _compare_grouped_stats(old_group, new_group):
    stats = []
    for traceback, stat in new_group.items():
        previous = old_group.pop(traceback, None)
        if previous is not None:
            stats.append(StatisticDiff(traceback, stat.size, stat.size - previous.size,
                                       stat.count, stat.count - previous.count))
        else:
            stats.append(StatisticDiff(traceback, stat.size, stat.size, stat.count, stat.count))
    for traceback, stat in old_group.items():
        stats.append(StatisticDiff(traceback, 0, -stat.size, 0, -stat.count))
    return stats


# ---- filters ----------------------------------------------------------------

def _normalize_filename(filename):
    return filename[:-1] if filename.endswith(".pyc") else filename


class BaseFilter:
    def __init__(self, inclusive):
        self.inclusive = inclusive

    def _match(self, trace):
        raise NotImplementedError


class Filter(BaseFilter):
    """Keeps (inclusive) or drops the traces whose most recent frame (every
    frame with *all_frames*) matches the fnmatch pattern *filename_pattern*
    and *lineno* (None: any line), in *domain* (None: any domain)."""

    def __init__(self, inclusive, filename_pattern, lineno=None, all_frames=False, domain=None):
        super().__init__(inclusive)
        self._filename_pattern = _normalize_filename(filename_pattern)
        self.lineno = lineno
        self.all_frames = all_frames
        self.domain = domain

    @property
    def filename_pattern(self):
        return self._filename_pattern

    def _match_frame_impl(self, filename, lineno):
        filename = _normalize_filename(filename)
        if not fnmatch.fnmatch(filename, self._filename_pattern):
            return False
        return self.lineno is None or lineno == self.lineno

    def _match_frame(self, filename, lineno):
        return self._match_frame_impl(filename, lineno) ^ (not self.inclusive)

    def _match_traceback(self, traceback):
        if self.all_frames:
            hit = any(self._match_frame_impl(frame[0], frame[1]) for frame in traceback)
            return hit == bool(self.inclusive)
        return self._match_frame(traceback[0][0], traceback[0][1])

    def _match(self, trace):
        domain, _, traceback, _ = trace
        matched = self._match_traceback(traceback)
        if self.domain is None:
            return matched
        if self.inclusive:
            return matched and domain == self.domain
        return matched or domain != self.domain


class DomainFilter(BaseFilter):
    """Keeps (inclusive) or drops the traces of address space *domain*."""

    def __init__(self, inclusive, domain):
        super().__init__(inclusive)
        self._domain = domain

    @property
    def domain(self):
        return self._domain

    def _match(self, trace):
        return (trace[0] == self._domain) ^ (not self.inclusive)


def _split_filters(filters):
    if not isinstance(filters, Iterable):
        raise TypeError(f"filters must be a list of filters, not {type(filters).__name__}")
    include, exclude = [], []
    for f in filters:
        (include if f.inclusive else exclude).append(f)
    return include, exclude


def _keep(include, exclude, trace):
    if include and not any(f._match(trace) for f in include):
        return False
    return all(f._match(trace) for f in exclude)


# ---- snapshots --------------------------------------------------------------

class Snapshot:
    """The traces of allocated blocks at one time: ``traces`` (a sequence of
    Trace) and the ``traceback_limit`` they were taken with."""

    def __init__(self, traces, traceback_limit):
        # Raw tuples (domain, size, frames, total_nframe), frames most
        # recent first; Trace objects are made on access.
        self.traces = _Traces(traces)
        self.traceback_limit = traceback_limit

    def dump(self, filename):
        """Writes the snapshot to a leakgate snapshot file.  Other attributes
        of the snapshot are kept in the file as JSON: they must be JSON
        values."""
        extra = {k: v for k, v in vars(self).items() if k not in ("traces", "traceback_limit")}
        user = json.dumps(extra, sort_keys=True).encode() if extra else b""
        _leakgate.dump(filename, self.traces._traces, self.traceback_limit, user)

    @staticmethod
    def load(filename):
        """Reads a snapshot file.  OSError when it cannot be read,
        ValueError naming it when it is not a valid snapshot file."""
        traces, limit, user = _leakgate.load(filename)
        snapshot = Snapshot(traces, limit)
        if user:
            try:
                extra = json.loads(user)
            except ValueError as exc:
                raise ValueError(f"{filename}: corrupt snapshot attributes ({exc})") from None
            for name, value in extra.items():
                setattr(snapshot, name, value)
        return snapshot

    def filter_traces(self, filters):
        """A new Snapshot with the traces that pass *filters* (a sequence of
        Filter and DomainFilter); an empty sequence copies."""
        include, exclude = _split_filters(filters)
        if include or exclude:
            traces = [t for t in self.traces._traces if _keep(include, exclude, t)]
        else:
            traces = self.traces._traces.copy()
        return Snapshot(traces, self.traceback_limit)

    def _group_by(self, key_type, cumulative):
        if key_type not in ("traceback", "filename", "lineno"):
            raise ValueError(f"unknown key_type: {key_type!r}")
        if cumulative and key_type not in ("lineno", "filename"):
            raise ValueError(f"cumulative mode cannot by used with key type {key_type!r}")
        stats, keys = {}, {}

        def add(key, size):
            stat = stats.get(key)
            if stat is None:
                stats[key] = Statistic(key, size, 1)
            else:
                stat.size += size
                stat.count += 1

        def key_of(frames):
            key = keys.get(frames)
            if key is None:
                key = keys[frames] = Traceback(frames)
            return key

        for _, size, frames, _ in self.traces._traces:
            if cumulative:
                for frame in frames:
                    add(key_of((frame if key_type == "lineno" else (frame[0], 0),)), size)
            elif key_type == "traceback":
                add(key_of(frames), size)
            elif key_type == "lineno":
                add(key_of(frames[:1]), size)
            else:
                add(key_of(((frames[0][0], 0),)), size)
        return stats

    def statistics(self, key_type, cumulative=False):
        """Statistic objects grouped by *key_type* ('filename', 'lineno' or
        'traceback'), biggest first."""
        stats = list(self._group_by(key_type, cumulative).values())
        stats.sort(reverse=True, key=Statistic._sort_key)
        return stats

    def compare_to(self, old_snapshot, key_type, cumulative=False):
        """StatisticDiff objects between *old_snapshot* and this one,
        biggest change first."""
        new_group = self._group_by(key_type, cumulative)
        old_group = old_snapshot._group_by(key_type, cumulative)
        stats = _compare_grouped_stats(old_group, new_group)
        stats.sort(reverse=True, key=StatisticDiff._sort_key)
        return stats


def take_snapshot():
    """A Snapshot of the traces of the blocks allocated now."""
    if not is_tracing():
        raise RuntimeError("the leakgate module must be tracing memory allocations "
                           "to take a snapshot")
    return Snapshot(_get_traces(), get_traceback_limit())


# ---- marks: per-test deltas --------------------------------------------------

class Mark:
    """What was allocated and not freed since the mark began, cheap at any
    heap size.  One mark is active at a time: beginning another one, or
    clear_traces()/stop(), makes this one stale (diff() then raises
    RuntimeError).  Use as a context manager or close() it."""

    def __init__(self):
        self._mark = _leakgate._Mark()
        self.lost_traces = 0

    def diff(self, filters=()):
        """StatisticDiff objects keyed by traceback, biggest change first:
        blocks allocated since the mark and still allocated (positive
        diffs), and older blocks freed since (negative diffs).  *filters*
        apply as in Snapshot.filter_traces.
        ``lost_traces`` tells how many traces the tracer could not record
        meanwhile (when non-zero, a clean diff proves nothing)."""
        rows, self.lost_traces = self._mark.diff()  # before making anything here
        include, exclude = _split_filters(filters)
        out = []
        for domain, frames, size, size_diff, count, count_diff in rows:
            if (include or exclude) and not _keep(include, exclude,
                                                  (domain, size, frames, len(frames))):
                continue
            out.append(StatisticDiff(Traceback(frames), size, size_diff, count, count_diff))
        return out

    def close(self):
        self._mark.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def mark():
    """Begins a Mark (tracing must be on)."""
    return Mark()
