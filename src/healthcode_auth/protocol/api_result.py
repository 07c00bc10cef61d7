"""What a Healthcode API call returns: the JSON as dicts and lists that show as summaries.

Robot Framework writes a keyword's return value into its log when it is assigned (``${result} = ...``
at INFO, ``Return:`` at TRACE), and ``Log  ${result}[entry]`` writes a part of it: from an API that
returns patients' names, dates of birth and membership numbers, that is patient data in output.xml
and log.html. So every dict and list of an answer is wrapped: :class:`ApiResult` (the whole
answer), :class:`ApiDict` and :class:`ApiList`, whose ``repr`` and ``str`` are summaries
(``<Healthcode find_member: 200 OK, Bundle of 3 Coverage>``, ``<Coverage>``, ``<list of 3>``). They
are still dicts and lists: ``${result}[entry][0][resource][status]`` works, they compare equal to
plain JSON, ``json.dumps`` writes them; strings and numbers come back as they are.
:meth:`ApiDict.plain` gives plain dicts and lists again.

Wrapping is lazy: an answer is wrapped one level at a time, when a level is read (indexing, ``get``,
iteration, ``values``, ``items``, copies, slices...), and the wrapped level is kept in place of the
plain one, so a large answer costs nothing to return and reading a part twice gives the same object.
Whatever is put into an answer (``x[k] = v``, ``append``, ``extend``, ``insert``, ``update``,
``setdefault``, slice assignment) is wrapped the same way: Robot Framework's conversion for
``&{...}`` rewrites the lists it meets in place with plain copies of their dicts, and the answer must
still show as summaries afterwards. The copies Robot itself makes for ``&{...}`` are plain dicts,
shown in full: that is the suite's choice (see the library's "No patient data in the log").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, SupportsIndex, overload

from ..errors import escaped

_RESOURCE_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,59}")
MAX_SHOWN_TYPES = 3
_SETTLING = threading.Lock()  # a level wrapped by two threads at once is kept once
_MISSING = object()


def resource_type_of(value: object) -> str | None:
    """A JSON object's ``resourceType`` when it is a plausible one (letters and digits), else None."""
    kind = (
        dict.get(value, "resourceType")
        if isinstance(value, dict)
        else value.get("resourceType")
        if isinstance(value, Mapping)
        else None
    )
    return kind if isinstance(kind, str) and _RESOURCE_TYPE.fullmatch(kind) else None


def wrap(value: Any) -> Any:
    """A dict as an :class:`ApiDict`, a list as an :class:`ApiList` (one level: what they hold is
    wrapped when it is read); anything else, and what is wrapped already, as it is."""
    if isinstance(value, dict) and not isinstance(value, ApiDict):
        return ApiDict(value)
    if isinstance(value, list) and not isinstance(value, ApiList):
        return ApiList(value)
    return value


class ApiList(list):  # type: ignore[type-arg]  # JSON: any values
    """A JSON array of an API's answer, shown as ``<list of N>``."""

    def __repr__(self) -> str:
        return f"<list of {len(self)}>"

    __str__ = __repr__

    @overload
    def __getitem__(self, index: SupportsIndex) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> ApiList: ...

    def __getitem__(self, index: SupportsIndex | slice) -> Any:
        if isinstance(index, slice):
            return ApiList([self[i] for i in range(*index.indices(len(self)))])
        item = list.__getitem__(self, index)
        wrapped = wrap(item)
        if wrapped is item:
            return item
        with _SETTLING:
            if list.__getitem__(self, index) is item:
                list.__setitem__(self, index, wrapped)
                return wrapped
        return self[index]  # another thread wrapped it first: that one is kept

    def __iter__(self) -> Iterator[Any]:
        index = 0
        while index < len(self):  # as a list's own iterator: a list changed meanwhile is followed
            yield self[index]
            index += 1

    def __reversed__(self) -> Iterator[Any]:
        index = len(self) - 1
        while index >= 0:
            if index < len(self):
                yield self[index]
            index -= 1

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            list.__setitem__(self, index, [wrap(item) for item in value])
        else:
            list.__setitem__(self, index, wrap(value))

    def __add__(self, other: Iterable[Any]) -> ApiList:
        return ApiList([*self, *other])

    def __radd__(self, other: Iterable[Any]) -> ApiList:
        return ApiList([*other, *self])

    def __iadd__(self, other: Iterable[Any]) -> ApiList:
        self.extend(other)
        return self

    def __mul__(self, times: SupportsIndex) -> ApiList:
        return ApiList(list(self) * times)

    __rmul__ = __mul__

    def append(self, value: Any) -> None:
        list.append(self, wrap(value))

    def extend(self, values: Iterable[Any]) -> None:
        list.extend(self, [wrap(value) for value in values])

    def insert(self, index: SupportsIndex, value: Any) -> None:
        list.insert(self, index, wrap(value))

    def pop(self, index: SupportsIndex = -1) -> Any:
        return wrap(list.pop(self, index))

    def copy(self) -> ApiList:
        return ApiList(list(self))

    def sort(self, *args: Any, **kwargs: Any) -> None:
        for _ in self:  # a key function sees wrapped items only
            pass
        list.sort(self, *args, **kwargs)

    def plain(self) -> list[Any]:
        """The array as plain lists and dicts."""
        return _plain(self)  # type: ignore[no-any-return]


class ApiDict(dict):  # type: ignore[type-arg]  # JSON: string keys, any values
    """A JSON object of an API's answer, shown as ``<Coverage>`` (its ``resourceType``) or
    ``<object of N keys>``."""

    def __repr__(self) -> str:
        kind = resource_type_of(self)
        return f"<{kind}>" if kind else f"<object of {len(self)} keys>"

    __str__ = __repr__

    def __getitem__(self, key: Any) -> Any:
        item = dict.__getitem__(self, key)
        wrapped = wrap(item)
        if wrapped is item:
            return item
        with _SETTLING:
            if dict.get(self, key, _MISSING) is item:
                dict.__setitem__(self, key, wrapped)
                return wrapped
        return self[key]  # another thread wrapped it first: that one is kept

    def __iter__(self) -> Iterator[Any]:
        # Defined only so that dict(x), {**x} and update(x) read the values through __getitem__:
        # CPython copies a dict's own values directly when its type keeps dict's iterator.
        return dict.__iter__(self)

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, wrap(value))

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 - this is get itself

    def values(self) -> Any:
        self._wrap_level()
        return dict.values(self)

    def items(self) -> Any:
        self._wrap_level()
        return dict.items(self)

    def pop(self, key: Any, *default: Any) -> Any:
        return wrap(dict.pop(self, key)) if key in self else dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        key, value = dict.popitem(self)
        return key, wrap(value)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def copy(self) -> ApiDict:
        self._wrap_level()
        return ApiDict(dict.items(self))

    def __or__(self, other: Any) -> ApiDict:
        merged = self.copy()
        merged.update(other)
        return merged

    def __ror__(self, other: Any) -> ApiDict:
        merged = ApiDict(other)
        merged.update(self)
        return merged

    def __ior__(self, other: Any) -> ApiDict:
        self.update(other)
        return self

    def _wrap_level(self) -> None:
        for key in list(dict.keys(self)):
            self[key]  # wraps the value in place

    def plain(self) -> dict[str, Any]:
        """The object as plain dicts and lists (JSON-ready, shown in full wherever it is logged)."""
        return _plain(self)  # type: ignore[no-any-return]


class ApiResult(ApiDict):
    """A Healthcode API's answer: the JSON object, wrapped, and what the call was.

    ``status`` is the HTTP status, ``endpoint`` the API's name in the discovery document,
    ``resource_type`` the answer's ``resourceType`` (None when it has none), ``count`` the number
    of entries of a Bundle (None for anything else) and ``total`` the Bundle's ``total`` as the
    server said (None when it did not).
    """

    def __init__(self, body: Mapping[str, Any] | None = None, *, status: int = 200, endpoint: str = "") -> None:
        super().__init__(body or {})  # one level, as it is: wrapped when read
        self.status = status
        self.endpoint = endpoint

    @property
    def resource_type(self) -> str | None:
        return resource_type_of(self)

    @property
    def count(self) -> int | None:
        entries = dict.get(self, "entry")
        if self.resource_type != "Bundle":
            return None
        return len(entries) if isinstance(entries, list) else 0

    @property
    def total(self) -> int | None:
        total = dict.get(self, "total")
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    @property
    def summary(self) -> str:
        """``Bundle of 3 Coverage``, ``OperationOutcome (information)``, ``object of 2 keys``: what
        the answer is, never what it says."""
        kind = self.resource_type
        if kind == "Bundle":
            return self._bundle_summary()
        if kind == "OperationOutcome":  # read as it is stored: a summary wraps nothing
            issues = dict.get(self, "issue")
            severities = (
                sorted(
                    {
                        str(dict.get(i, "severity"))
                        for i in list.__iter__(issues)
                        if isinstance(i, dict)
                        and dict.get(i, "severity") in ("fatal", "error", "warning", "information")
                    }
                )
                if isinstance(issues, list)
                else []
            )
            return f"OperationOutcome ({', '.join(severities)})" if severities else "OperationOutcome"
        if kind:
            return kind
        return f"object of {len(self)} keys" if self else "no content"

    def _bundle_summary(self) -> str:
        entries = dict.get(self, "entry")
        entries = list(list.__iter__(entries)) if isinstance(entries, list) else []
        kinds = list(
            dict.fromkeys(resource_type_of(dict.get(e, "resource")) or "entry" for e in entries if isinstance(e, dict))
        )
        if entries and len(kinds) == 1 and kinds[0] != "entry":
            text = f"Bundle of {len(entries)} {kinds[0]}"
        elif entries and kinds:
            shown = ", ".join(kinds[:MAX_SHOWN_TYPES]) + (", ..." if len(kinds) > MAX_SHOWN_TYPES else "")
            text = f"Bundle of {len(entries)} entries ({shown})"
        else:
            text = f"Bundle of {len(entries)} entries"
        total = self.total
        return text + (f", total {total}" if total is not None and total != len(entries) else "")

    def __repr__(self) -> str:
        # Imported here: the keywords import this class (a return type), and a run that calls no API needs no more.
        from .fhir_outcome import reason_phrase

        return f"<Healthcode {escaped(self.endpoint, 100)}: {reason_phrase(self.status)}, {self.summary}>"

    __str__ = __repr__


def _plain(value: Any) -> Any:
    """The reverse of :func:`wrap`: plain dicts and lists, again without recursion."""
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any]] = [(value, root)]
    while stack:
        source, target = stack.pop()
        items = dict.items(source) if isinstance(source, dict) else enumerate(list.__iter__(source))
        for key, item in items:
            if isinstance(item, (dict, list)):
                child: Any = {} if isinstance(item, dict) else []
                stack.append((item, child))
                item = child
            if isinstance(target, dict):
                target[key] = item
            else:
                target.append(item)
    return root
