"""Repeated blocks counted once: the records of a profile where a block repeats, kept as the first copy's
records and a note saying which copies repeat them.

The walk (:mod:`archlens.layers.walk`) notices a layer that is the same as the sibling before it but for
its name, on the same input, where that sibling's output is its input (a repeat's copies: GPT-3's 96
blocks): it walks the first copy and, for the others, appends one :class:`Repeated` to its records
(and groups) instead of walking them again. A profile's time and memory then follow the distinct
blocks, not the layers; its records are the same, expanded only when someone reads them one by one
(:class:`RecordList`): totals and roll-ups to the repeated blocks' level come from the distinct
records, multiplied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Iterator

from archlens.counting.formulas import OpCount
from archlens.counting.training import StepStats
from archlens.layers.walk import Repeated


def renamer(source: str, copy: str) -> Callable[[str], str]:
    """Names under ``source`` moved under ``copy`` (``h.0.attn`` -> ``h.7.attn``)."""
    cut = len(source)

    def rename(name: str) -> str:
        return copy + name[cut:]

    return rename


def _identity(name: str) -> str:
    return name


def _then(first: Callable[[str], str], second: Callable[[str], str]) -> Callable[[str], str]:
    return lambda name: second(first(name))


class _Sum:
    """Running sums of records: count, ops, weights, biases, activation elements and bytes, and a training
    step's figures (:class:`~archlens.counting.training.StepStats`: summed, the transient the largest)."""

    __slots__ = ("count", "ops", "weights", "biases", "elements", "nbytes", "step")

    def __init__(self):
        self.count = self.weights = self.biases = self.elements = self.nbytes = 0
        self.ops = OpCount()
        self.step: StepStats | None = None

    def add(self, record: Any) -> None:
        self.count += 1
        self.ops = self.ops + record.ops
        self.weights += record.weights
        self.biases += record.biases
        self.elements += record.activation_elements
        self.nbytes += record.activation_bytes
        if record.step is not None:
            self.step = record.step if self.step is None else self.step + record.step

    def add_times(self, other: "_Sum", times: int) -> None:
        self.count += other.count * times
        ops = other.ops
        self.ops = self.ops + OpCount(*(value * times for value in ops))
        self.weights += other.weights * times
        self.biases += other.biases * times
        self.elements += other.elements * times
        self.nbytes += other.nbytes * times
        if other.step is not None:
            copies = other.step.times(times)
            self.step = copies if self.step is None else self.step + copies


class RepeatedList(Sequence):
    """A sequence of items (records or groups) written with :class:`Repeated` notes, read as the full
    sequence: iteration expands the notes in order, renaming the copies' items (``rename(item, name)``)."""

    def __init__(self, items: list, rename: Callable[[Any, str], Any]):
        self._items = items
        self._rename = rename
        self._full: tuple | None = None
        self._length: int | None = None

    # --- the full sequence, on demand ---

    def __iter__(self) -> Iterator:
        if self._full is not None:
            return iter(self._full)
        return self._expand(0, len(self._items), _identity)

    def _expand(self, start: int, stop: int, rename: Callable[[str], str]) -> Iterator:
        items, change = self._items, self._rename
        for item in items[start:stop]:
            if item.__class__ is Repeated:
                source = rename(item.source)
                for copy in item.copies:
                    yield from self._expand(item.start, item.stop, _then(rename, renamer(source, rename(copy))))
            elif rename is _identity:
                yield item
            else:
                yield change(item, rename(item.name))

    def full(self) -> tuple:
        if self._full is None:
            self._full = tuple(self._expand(0, len(self._items), _identity))
        return self._full

    def __len__(self) -> int:
        if self._length is None:
            self._length = self._count(0, len(self._items), {})
        return self._length

    def _count(self, start: int, stop: int, memo: dict) -> int:
        key = (start, stop)
        if key not in memo:
            count = 0
            for item in self._items[start:stop]:
                count += len(item.copies) * self._count(item.start, item.stop, memo) if item.__class__ is Repeated \
                    else 1
            memo[key] = count
        return memo[key]

    def __getitem__(self, index):
        return self.full()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RepeatedList):
            other = other.full()
        if not isinstance(other, (tuple, list)):
            return NotImplemented
        return self.full() == tuple(other)

    def __hash__(self) -> int:
        return hash(self.full())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._items)} items, {len(self)} expanded)"

    def distinct(self) -> int:
        """The items stored (the records of the distinct blocks and the notes)."""
        return len(self._items)

    def distinct_items(self) -> list:
        """The items stored but the notes: each distinct record once."""
        return [item for item in self._items if item.__class__ is not Repeated]


def _renamed_record(record: Any, name: str) -> Any:
    return record._replace(name=name)


class _RenamedGroup:
    """A group renamed: ``make(name, kind, output_shape)`` (picklable, unlike a lambda)."""

    def __init__(self, make: Callable[[str, str, tuple], Any]):
        self.make = make

    def __call__(self, group: Any, name: str) -> Any:
        return self.make(name, group.kind, group.output_shape)


class RecordList(RepeatedList):
    """A profile's records with repeated blocks counted once: :meth:`sums` and :meth:`rollup` read the
    distinct records; anything else sees every record."""

    def __init__(self, items: list):
        super().__init__(items, _renamed_record)
        self._sums: dict = {}

    def _sum(self, start: int, stop: int) -> _Sum:
        key = (start, stop)
        found = self._sums.get(key)
        if found is None:
            found = _Sum()
            for item in self._items[start:stop]:
                if item.__class__ is Repeated:
                    found.add_times(self._sum(item.start, item.stop), len(item.copies))
                else:
                    found.add(item)
            self._sums[key] = found
        return found

    def sums(self) -> _Sum:
        """Every record's figures summed, without expanding the repeats."""
        return self._sum(0, len(self._items))

    def rollup(self, depth: int, group_kind: Callable[[str], str | None],
               group_output: Callable[[str], tuple | None], make: Callable[..., Any]) -> tuple:
        """Records summed up to ``depth`` name components, as :meth:`Profile.rollup` does, reading each
        repeated block once where its copies fall into one row and renaming its rows where they do not."""
        order: list[str] = []
        rows: dict[str, list] = {}  # key -> [sum, first record, first input shape, last output shape, single]
        for key, payload, times in self._keyed(0, len(self._items), _identity, depth):
            entry = rows.get(key)
            if entry is None:
                order.append(key)
                entry = rows[key] = [_Sum(), None, None, None, True]
            if times is None:  # one record
                entry[0].add(payload)
                if entry[1] is None:
                    entry[1] = payload
                    entry[2] = payload.input_shape
                entry[3] = payload.output_shape
            else:  # a repeated range: (its sum, its first and last record), times copies
                range_sum, first, last = payload
                entry[0].add_times(range_sum, times)
                if entry[1] is None:
                    entry[1] = first
                    entry[2] = first.input_shape
                entry[3] = last.output_shape
                entry[4] = False
        result = []
        for key in order:
            total, first, input_shape, output_shape, single = rows[key]
            if single and total.count == 1 and first.name == key:
                result.append(first)
                continue
            output = group_output(key)
            result.append(make(name=key, kind=group_kind(key) or first.kind, input_shape=input_shape,
                               output_shape=output if output else output_shape, weights=total.weights,
                               biases=total.biases, ops=total.ops, activation_elements=total.elements,
                               activation_bytes=total.nbytes, step=total.step))
        return tuple(result)

    def _keyed(self, start: int, stop: int, rename: Callable[[str], str], depth: int):
        """``(key, record, None)`` for each record, or ``(key, (sum, first, last), copies)`` for a repeated
        range whose copies all fall into one row at ``depth``."""
        for item in self._items[start:stop]:
            if item.__class__ is Repeated:
                source = rename(item.source)
                parts = source.split(".")
                if depth < len(parts):  # the copies differ in the last part only: one row holds them all
                    first, last = self._ends(item.start, item.stop)
                    yield ".".join(parts[:depth]), (self._sum(item.start, item.stop), first, last), len(item.copies)
                else:
                    for copy in item.copies:
                        yield from self._keyed(item.start, item.stop, _then(rename, renamer(source, rename(copy))),
                                               depth)
            else:
                name = item.name if rename is _identity else rename(item.name)
                record = item if rename is _identity else item._replace(name=name)
                yield ".".join(name.split(".")[:depth]), record, None

    def _ends(self, start: int, stop: int) -> tuple:
        """The first and last record of a range (the records of a repeated range's first copy)."""
        first = next(iter(self._expand(start, stop, _identity)))
        last = None
        for item in reversed(self._items[start:stop]):
            if item.__class__ is Repeated:
                last = self._ends(item.start, item.stop)[1]
            else:
                last = item
            break
        return first, last


class GroupList(RepeatedList):
    """A profile's groups with repeated blocks' groups noted once; :meth:`find` looks a group up by name
    without expanding them."""

    def __init__(self, items: list, make: Callable[[str, str, tuple], Any]):
        super().__init__(items, _RenamedGroup(make))
        self._by_name = {item.name: item for item in items if item.__class__ is not Repeated}
        self._aliases = {copy: item.source for item in items if item.__class__ is Repeated for copy in item.copies}

    def find(self, name: str):
        """The group called ``name`` (a copy's group is its source's, renamed), or None."""
        found = self._by_name.get(name)
        if found is not None:
            return found
        parts = name.split(".")
        for end in range(len(parts), 0, -1):  # the longest prefix that is a copy: look under its source
            source = self._aliases.get(".".join(parts[:end]))
            if source is not None:
                return self.find(".".join([source, *parts[end:]]))
        return None


__all__ = ["GroupList", "RecordList", "Repeated", "RepeatedList", "renamer"]
