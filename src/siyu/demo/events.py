"""Collects the demo's events block by block and builds one Arrow table in ``EVENT_SCHEMA``.

A block is a set of events of one kind on one carrier view (``mp``, ``oa`` ...), given as
numpy arrays of person indexes and times. Per-person columns (ids, identities, device
context) come from the view, so each column is built with a single Arrow ``take``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from siyu.ingest.model import EVENT_SCHEMA

_TS = pa.timestamp("us")


@dataclass(frozen=True)
class View:
    """How one carrier (or account) records a person: ids, identities, constants."""

    source_id: str
    protocol: str
    carrier: str
    app_id: str | None
    library: str | None
    library_version: str | None
    sdk: bool  # client SDK (has client/sent times) or server callback
    user_id: pa.Array
    anonymous_id: pa.Array
    identities: pa.Array
    context: pa.Array


def identity_map(pairs: Sequence[tuple[str, pa.Array]]) -> pa.Array:
    """A map column of the non-null ids per row, keyed by identity type."""
    n = len(pairs[0][1])
    valid = np.stack([arr.is_valid().to_numpy(zero_copy_only=False) for _, arr in pairs], 1)
    rows, cols = np.nonzero(valid)
    values = pa.concat_arrays([arr for _, arr in pairs]).take(pa.array(cols * n + rows))
    keys = pa.array([k for k, _ in pairs]).take(pa.array(cols))
    offsets = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int32)
    return pa.MapArray.from_arrays(pa.array(offsets), keys, values)


def choose(vocab: Sequence[str], codes: np.ndarray) -> pa.Array:
    """Strings of ``vocab`` at ``codes``: how categorical properties are built."""
    return pa.array(list(vocab), pa.string()).take(pa.array(codes))


def concat_text(*parts: str | pa.Array | np.ndarray) -> pa.Array:
    """Element-wise concatenation of literals, string arrays and integer arrays."""
    cols: list[str | pa.Array] = []
    for part in parts:
        if isinstance(part, np.ndarray):
            cols.append(pc.cast(pa.array(part), pa.string()))
        else:
            cols.append(part)
    out: pa.Array = pc.binary_join_element_wise(*cols, "")
    return out


@dataclass
class _Block:
    view: int
    person: np.ndarray
    time: np.ndarray
    event: pa.Array
    properties: pa.Array
    type: int
    method: int
    previous: bool


class EventSink:
    """Accumulates event blocks; `table` sorts them by time and assigns event ids."""

    def __init__(self, views: dict[str, View], rng: np.random.Generator, until: int) -> None:
        self._names = list(views)
        self._views = [views[k] for k in self._names]
        self._blocks: list[_Block] = []
        self._types: list[str] = []
        self._methods: list[str] = []
        self._rng = rng
        self._until = until

    def add(
        self,
        view: str,
        person: np.ndarray,
        time: np.ndarray,
        event: str | pa.Array,
        properties: str | pa.Array = "{}",
        *,
        type: str = "track",
        method: str = "code",
        previous: bool = False,
    ) -> None:
        """Add events of ``view`` for ``person`` at ``time`` (UTC µs); those at or after
        the end of the period are dropped."""
        keep = time < self._until
        if not keep.all():
            person, time = person[keep], time[keep]
            mask = pa.array(keep)
            event = event if isinstance(event, str) else event.filter(mask)
            properties = properties if isinstance(properties, str) else properties.filter(mask)
        n = len(person)
        if n == 0:
            return
        if isinstance(event, str):
            event = pa.array([event]).take(pa.array(np.zeros(n, np.int32)))
        if isinstance(properties, str):
            properties = pa.array([properties]).take(pa.array(np.zeros(n, np.int32)))
        if len(event) != n or len(properties) != n or len(time) != n:
            raise ValueError("event block columns differ in length")
        self._blocks.append(
            _Block(
                self._names.index(view),
                person.astype(np.int64),
                time.astype(np.int64),
                event,
                properties,
                _code(self._types, type),
                _code(self._methods, method),
                previous,
            )
        )

    def __len__(self) -> int:
        return sum(len(b.person) for b in self._blocks)

    def counts_by_carrier(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for b in self._blocks:
            carrier = self._views[b.view].carrier
            out[carrier] = out.get(carrier, 0) + len(b.person)
        return out

    def table(self, id_prefix: str) -> pa.Table:
        """All events sorted by time, ids ``<id_prefix><n>`` in that order."""
        blocks = self._blocks
        time = np.concatenate([b.time for b in blocks])
        order = np.argsort(time, kind="stable")
        time = time[order]
        n = len(time)
        sizes = np.array([len(self._views[0].user_id)] * len(self._views), np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        view = np.concatenate([np.full(len(b.person), b.view, np.int64) for b in blocks])[order]
        row = np.concatenate([b.person + starts[b.view] for b in blocks])[order]
        take_row = pa.array(row)
        take_view = pa.array(view)
        take_order = pa.array(order)

        def per_person(attr: str) -> pa.Array:
            arrays = [getattr(v, attr) for v in self._views]
            return pa.concat_arrays(arrays).take(take_row)

        def per_view(attr: str) -> pa.Array:
            return pa.array([getattr(v, attr) for v in self._views], pa.string()).take(take_view)

        def per_block(values: list[str], attr: str) -> pa.Array:
            codes = np.concatenate(
                [np.full(len(b.person), getattr(b, attr), np.int32) for b in blocks]
            )
            return pa.array(values, pa.string()).take(pa.array(codes[order]))

        sdk = np.array([v.sdk for v in self._views])[view]
        jitter = self._rng.integers(200_000, 9_000_000, n)
        sent = time + jitter
        received = np.where(sdk, sent + 80_000, time + 300_000)
        anonymous = per_person("anonymous_id")
        previous_flag = np.concatenate([np.full(len(b.person), b.previous) for b in blocks])
        previous = pc.if_else(
            pa.array(previous_flag[order]), anonymous, pa.scalar(None, pa.string())
        )
        ids = pc.binary_join_element_wise(
            id_prefix, pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), ""
        )
        columns = {
            "event_id": ids,
            "type": per_block(self._types, "type"),
            "event": pa.concat_arrays([b.event for b in blocks]).take(take_order),
            "event_time": pa.array(time, _TS),
            "client_time": pa.array(time, _TS, mask=~sdk),
            "sent_at": pa.array(sent, _TS, mask=~sdk),
            "received_at": pa.array(received, _TS),
            "user_id": per_person("user_id"),
            "anonymous_id": anonymous,
            "previous_id": previous,
            "identities": per_person("identities"),
            "source_id": per_view("source_id"),
            "protocol": per_view("protocol"),
            "carrier": per_view("carrier"),
            "app_id": per_view("app_id"),
            "library": per_view("library"),
            "library_version": per_view("library_version"),
            "method": per_block(self._methods, "method"),
            "properties": pa.concat_arrays([b.properties for b in blocks]).take(take_order),
            "context": per_person("context"),
        }
        return pa.table([columns[f.name] for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)


def _code(values: list[str], value: str) -> int:
    if value not in values:
        values.append(value)
    return values.index(value)
