"""What an API call sends, checked before anything is sent: the API's name, the fields as text, a
JSON body, the id appended to the API's URL, and the call's flags. Each mistake is an
:class:`~healthcode_auth.errors.ApiArgumentError` that says what to change and quotes no value
(a value may be a patient's name)."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ..errors import ApiArgumentError, escaped, first_line

MAX_ID_CHARS = 1000  # an id appended as a path segment


def checked_flags(**flags: object) -> None:
    """``all_pages`` and ``log_content`` are True or False (``log_content`` also None: the setting's):
    a word such as ``never`` given from a suite is not read as either (it would be true)."""
    for flag, value in flags.items():
        if not isinstance(value, bool) and not (flag == "log_content" and value is None):
            raise ApiArgumentError(
                f"'{flag}' is True or False (${{True}} or ${{False}} in a suite): another value "
                "is never read as either."
            )


def text_fields(fields: Mapping[str, Any] | None) -> dict[str, str]:
    """Fields as text: lists comma-separated, booleans ``true``/``false``, None left out."""
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        raise ApiArgumentError("Give the fields as names and values (a dictionary).")
    text: dict[str, str] = {}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(item) for item in value)
        key = sendable(str(name), "A field's name")
        text[key] = sendable(str(value), f"The value of the field '{escaped(key, 60)}'")
    return text


def sendable(text: str, what: str) -> str:
    """``text``, when it can be sent as UTF-8 (a lone surrogate cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiArgumentError(
            f"{what} is not valid text: it holds a lone surrogate (a character from U+D800 to "
            "U+DFFF), which cannot be sent. Check where the value comes from."
        ) from None
    return text


def api_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ApiArgumentError("Name the API as text, as the API discovery document keys it, such as find_member.")
    return name


def json_body(resource: Any) -> bytes:
    """A FHIR resource as ``application/fhir+json`` bytes; an ApiArgumentError (quoting no value)
    for text, or for anything JSON cannot carry."""
    if not isinstance(resource, (Mapping, list, tuple)):
        raise ApiArgumentError(
            "json takes a FHIR resource as a dictionary (or a list), not text or a number: build "
            "it with Create Dictionary or ${{ {...} }}, or parse JSON text first (json.loads)."
        )
    try:
        return jsonlib.dumps(resource, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        problem = "a lone surrogate (a character from U+D800 to U+DFFF)"
    except RecursionError:
        problem = "objects nested too deeply"
    except TypeError as error:
        problem = f"a value that is not JSON ({escaped(first_line(error, 80), 80)}): give dates as text, sets as lists"
    except ValueError:  # NaN and a cycle raise alike: the cycle is the one NaN allowed does not cure
        problem = "NaN or an infinity, which JSON has no number for"
        try:
            jsonlib.dumps(resource, allow_nan=True)
        except ValueError:
            problem = "an object that contains itself"
        except (TypeError, RecursionError):
            pass  # another problem besides the NaN: the NaN is one to mend first
    raise ApiArgumentError(f"The json body cannot be sent: it holds {problem}.")


def with_path(url: str, path: str | int | None) -> str:
    """``url`` with ``path`` appended as one percent-encoded segment (its query kept)."""
    if path is None:
        return url
    if isinstance(path, bool) or not isinstance(path, (str, int)):
        raise ApiArgumentError(
            f"The path (an id appended to the API's URL) is a {type(path).__name__}: give the id "
            "of one resource, as text or a whole number."
        )
    segment = sendable(str(path), "The path (an id appended to the API's URL)")
    if not segment.strip() or segment in (".", ".."):
        raise ApiArgumentError(
            "The path (an id appended to the API's URL) is empty, '.' or '..': give the id of "
            "one resource (a '.' or '..' would reach the API's own address or the one above)."
        )
    if len(segment) > MAX_ID_CHARS:
        raise ApiArgumentError(
            f"The path (an id appended to the API's URL) is {len(segment)} characters long, more "
            f"than {MAX_ID_CHARS}: give the id of one resource."
        )
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + quote(segment, safe="")))
