"""A listener that masks every secret the process knows in what Robot Framework writes.

Why: tokens reach suites as ``Secret`` values, which Robot never logs, but an author who unwraps
one (``${v}=  Evaluate  $token.value``, then ``Log  ${v}``, a failing ``Should Be Equal``,
``Run Keyword  ${v}`` or ``Create Dictionary  Authorization=Bearer ${token.value}``) puts it in
output.xml, log.html, report.html, the console and the debug file. ``REDACTOR`` knows every secret
the process has learnt (tokens, code, verifier, client secret, store password), in every spelling;
this listener masks them before Robot writes.

How (Robot Framework 7.4 and 7.5, ``robot/output/logger.py``): ``Logger.log_message``,
``Logger.message`` and every ``end_*`` event reach the listeners first and Robot's own writers
(console, output.xml, syslog, debug file) after them, with the objects the listeners changed; at
``start_*`` events the writers come first. output.xml writes a keyword's arguments, assignments,
tags, documentation, timeout and status message, and a test's or suite's documentation, metadata,
tags and message, at end events, so masking them there is in time; log.html, report.html and xunit
come from output.xml. The debug file writes names, arguments and FOR loop values at start events,
and DEBUG messages that the log level keeps from listeners: it is rewritten once Robot has closed
it (``close``).

A keyword's *name* is written to output.xml when it starts, before any listener hears of it; it
holds a secret when a ``Run Keyword`` variant is given one (``Run Keyword  ${v}``). Robot declares
those arguments as :class:`robot.api.types.KeywordName`: when one is made of plain variables,
resolves to text holding a secret, and names no keyword (so the call fails whatever it is called),
the listener hands the keyword the masked name instead, at ``start_library_keyword``, before the
inner keyword starts, and puts the argument back when it ends. The call fails as it would have,
with ``No keyword with name '<secret>' found.``

Out of a library listener's reach: ``Log To Console`` and the echo of what a keyword wrote to
stderr go straight to the process's streams; ``console=True`` on a message below the log level;
whatever output.xml writes when an item starts: test names, GROUP names, a resolved keyword name
that does name a keyword (embedded arguments), a name given to ``Run Keywords`` (typed as a name or
an argument) or reached through items, attributes or inline Python (resolving it twice could run
code twice); suites that do not import the library (library listeners hear only their own suites).
``--listener HealthcodeLibrary.output_scrubber.OutputScrubber`` covers every suite of a run, and as
a command-line listener it also hears ``output_file``: it rewrites output.xml with every secret
masked, names included, before log.html and report.html are written from it (the console has shown
a test's name already).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robot.api.types import KeywordName
from robot.result import Error, For, ForIteration, Group, Return, TryBranch, Var

from healthcode_auth.redaction import MASK, REDACTOR, KnownSecrets, SecretRedactor, mask_secrets

if TYPE_CHECKING:
    from robot import result, running
    from robot.running.arguments import ArgumentSpec

CUT = "..."  # how Robot marks what it cut: `${v} = <first 200 characters>...`; long errors: `...<end>`
MIN_CUT = 8  # a cut part of a secret this long or longer is masked too
HTML_MASK = MASK.replace("<", "&lt;").replace(">", "&gt;")  # html.escape(MASK), without importing html
WITHHELD = "<message withheld: it could not be checked for secrets>"
KEYWORD_FIELDS = ("name", "owner", "source_name", "args", "assign", "doc", "tags", "timeout", "message")
# Of control structures, besides the status message (each type's own: the others are deprecated aliases).
BODY_ITEM_FIELDS: dict[type, tuple[str, ...]] = {
    For: ("values",),
    Return: ("values",),
    Error: ("values",),
    Var: ("value",),
    Group: ("name",),
    TryBranch: ("patterns",),
}
# ${name} and ${name.attribute...}: resolving them twice reads a value twice, and runs no code a
# keyword name should (a Secret's .value, say); ${{...}} and items could, and are left alone.
_PLAIN_VARIABLE = re.compile(r"\$\{[\w ]+(?:\.[A-Za-z_]\w*)*\}")
_NOT_PLAIN = re.compile(r"[$@&%{}\\]")  # anything else a name could resolve through (items, ${{...}})
_SPECIAL = re.compile(r"(\\|[$@&%](?=\{))")  # what Robot would read as an escape or a variable


def scrub(text: str, secrets: KnownSecrets | Iterable[str], mask: str = MASK) -> str:
    """``text`` (the same object if unchanged) with every secret, whole or cut by Robot, masked."""
    text = secrets.mask(text, mask) if isinstance(secrets, KnownSecrets) else mask_secrets(text, secrets, mask)
    if CUT in text:
        parts = text.split(CUT)
        for index, part in enumerate(parts):
            for secret in secrets:
                if index < len(parts) - 1:
                    part = _mask_head(part, secret, mask)
                if index > 0:
                    part = _mask_tail(part, secret, mask)
            parts[index] = part
        joined = CUT.join(parts)
        text = text if joined == text else joined
    return text


def _mask_head(part: str, secret: str, mask: str) -> str:
    """Masks the longest start of ``secret`` that ``part`` ends with (``part`` came before a cut)."""
    probe = part[-MIN_CUT:]
    found = secret.find(probe) if len(probe) == MIN_CUT else -1
    longest = 0
    while found >= 0:
        if part.endswith(secret[: found + MIN_CUT]):
            longest = found + MIN_CUT
        found = secret.find(probe, found + 1)
    return part[:-longest] + mask if longest else part


def _mask_tail(part: str, secret: str, mask: str) -> str:
    """Masks the longest end of ``secret`` that ``part`` starts with (``part`` came after a cut)."""
    probe = part[:MIN_CUT]
    found = secret.find(probe) if len(probe) == MIN_CUT else -1
    while found >= 0:
        if part.startswith(secret[found:]):
            return mask + part[len(secret) - found :]  # the first match is the longest
        found = secret.find(probe, found + 1)
    return part


class OutputScrubber:
    """Listener API v3. HealthcodeLibrary registers one (``ROBOT_LIBRARY_LISTENER``); it can also be
    given with ``--listener HealthcodeLibrary.output_scrubber.OutputScrubber``."""

    ROBOT_LISTENER_API_VERSION = 3
    # Before other listeners (they may forward results); Robot's writers come after all listeners.
    ROBOT_LISTENER_PRIORITY = 1_000_000

    def __init__(self, redactor: SecretRedactor = REDACTOR) -> None:
        self._redactor = redactor
        self._debug_file: Path | None = None
        self._name_positions: dict[int, tuple[ArgumentSpec, tuple[int, ...], bool]] = {}
        self._renamed: dict[int, tuple[running.Keyword, tuple[Any, ...]]] = {}

    def log_message(self, message: result.Message) -> None:
        secrets = self._redactor.secrets
        if not secrets:
            return
        try:
            text = message.message
            if text:
                clean = scrub(text, secrets, HTML_MASK if message.html else MASK)
                if clean is not text:
                    message.message = clean
        except Exception:  # fail closed: a message that could not be checked is not written as it was
            with suppress(Exception):
                message.message = WITHHELD

    message = log_message  # Robot's own messages: warnings and errors (also on the console), syslog

    def start_library_keyword(self, data: running.Keyword, implementation: Any, result: result.Keyword) -> None:
        """A ``Run Keyword`` variant about to run a keyword named by a secret: see the module doc."""
        secrets = self._redactor.secrets
        if secrets and data.args:
            with suppress(Exception):  # a listener must never break the run
                for index in self._keyword_name_positions(implementation.args, data.args):
                    if index < len(data.args):
                        self._mask_keyword_name(data, index, secrets)

    def end_library_keyword(self, data: running.Keyword, implementation: Any, result: result.Keyword) -> None:
        if self._renamed:
            renamed = self._renamed.pop(id(data), None)
            if renamed is not None:
                renamed[0].args = renamed[1]
        self.end_keyword(data, result)

    def end_keyword(self, data: running.Keyword, result: result.Keyword) -> None:
        """Name, owner, arguments, assignments, documentation, tags, timeout and status message. The
        name only for the result model and later listeners: output.xml wrote it at the start."""
        secrets = self._redactor.secrets
        if secrets:
            with suppress(Exception):  # a listener must never break the run
                _scrub_fields(result, secrets, *KEYWORD_FIELDS)

    def end_body_item(self, data: Any, result: Any) -> None:
        """Control structures (FOR, IF, TRY, WHILE, VAR, GROUP, RETURN...): status message, values."""
        secrets = self._redactor.secrets
        if secrets:
            with suppress(Exception):
                _scrub_fields(result, secrets, "message", *BODY_ITEM_FIELDS.get(type(result), ()))
                if isinstance(result, ForIteration):  # {'${name}': 'value as logged'}
                    for name, value in result.assign.items():
                        result.assign[name] = scrub(value, secrets)

    def end_test(self, data: running.TestCase, result: result.TestCase) -> None:
        self._end_suite_or_test(result, "message", "doc", "tags", "timeout")

    def end_suite(self, data: running.TestSuite, result: result.TestSuite) -> None:
        self._end_suite_or_test(result, "message", "doc")

    def output_file(self, path: Path | None) -> None:
        """Heard only as a command-line listener: output.xml (or output.json) is closed, and log.html,
        report.html and xunit are not yet written from it. Rewritten with every secret masked, what
        it wrote when items started (keyword, test and GROUP names) included."""
        with suppress(Exception):
            secrets = self._redactor.secrets
            if path is not None and secrets and Path(path).is_file():
                xml = Path(path).suffix.lower() == ".xml"
                _scrub_file(Path(path), secrets, HTML_MASK if xml else MASK)

    def debug_file(self, path: Path) -> None:
        self._debug_file = Path(path)

    def close(self) -> None:
        """The run's debug file is finished and closed: rewrite it with the secrets masked."""
        with suppress(Exception):
            path, self._debug_file = _debug_file_of_current_run() or self._debug_file, None
            secrets = self._redactor.secrets
            if path is not None and secrets and path.is_file():
                _scrub_file(path, secrets)

    def _end_suite_or_test(self, result: result.TestSuite | result.TestCase, *names: str) -> None:
        """Status message (setup and teardown failures included), documentation, tags, metadata."""
        secrets = self._redactor.secrets
        if secrets:
            with suppress(Exception):
                _scrub_fields(result, secrets, *names)
                for name, value in list(result.metadata.items()):
                    result.metadata[name] = scrub(value, secrets)

    def _keyword_name_positions(self, spec: ArgumentSpec, args: Sequence[Any] = ()) -> tuple[int, ...]:
        """Where a keyword takes the name of a keyword to run (``KeywordName``), by position; for a
        keyword whose every argument may be a name (``Run Keywords``), the first and each after AND."""
        cached = self._name_positions.get(id(spec))
        if cached is None or cached[0] is not spec:
            types = spec.types or {}
            positions = tuple(
                index
                for index, name in enumerate(spec.positional)
                if getattr(types.get(name), "type", None) is KeywordName
            )
            rest = types.get(spec.var_positional) if spec.var_positional else None
            names_in_rest = KeywordName in [getattr(t, "type", None) for t in (getattr(rest, "nested", None) or ())]
            cached = self._name_positions[id(spec)] = (spec, positions, names_in_rest)
        positions, names_in_rest = cached[1], cached[2]
        if names_in_rest:
            separated = "AND" in args
            positions += tuple(
                index
                for index in range(len(spec.positional), len(args))
                if not separated or index == 0 or args[index - 1] == "AND"
            )
        return positions

    def _mask_keyword_name(self, data: running.Keyword, index: int, secrets: KnownSecrets) -> None:
        argument = data.args[index]
        if (
            not isinstance(argument, str)
            or "${" not in argument
            or _NOT_PLAIN.search(_PLAIN_VARIABLE.sub("", argument))
        ):
            return  # no variable, or one that resolving twice could run code twice
        from robot.libraries.BuiltIn import BuiltIn

        builtin = BuiltIn()
        name = builtin.replace_variables(argument)
        if not isinstance(name, str) or (masked := scrub(name, secrets)) is name:
            return
        try:
            builtin.keyword_should_exist(KeywordName(name))
        except AssertionError:  # no keyword has that name: the call fails whatever it is called
            self._renamed.setdefault(id(data), (data, tuple(data.args)))
            data.args = (*data.args[:index], _SPECIAL.sub(r"\\\1", masked), *data.args[index + 1 :])


def _scrub_fields(item: Any, secrets: KnownSecrets | Iterable[str], *names: str) -> None:
    """Masks the named string or string-sequence attributes the item has, setting only those that
    change; one that cannot be read or set is left to the others."""
    for name in names:
        with suppress(Exception):
            value = getattr(item, name, None)
            if value is None:
                continue
            if isinstance(value, str):
                clean: Any = scrub(value, secrets)
            else:  # arguments (not always strings), assignments, tags, values: a tuple of strings if changed
                texts = [text if isinstance(text, str) else str(text) for text in value]
                masked = [scrub(text, secrets) for text in texts]
                clean = value if masked == texts else tuple(masked)
            if clean is not value:
                setattr(item, name, clean)


def _debug_file_of_current_run() -> Path | None:
    from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError

    try:
        value = BuiltIn().get_variable_value("${DEBUG_FILE}", "NONE")
    except RobotNotRunningError:
        return None
    return None if str(value).upper() == "NONE" else Path(value)


def _scrub_file(path: Path, secrets: KnownSecrets | Iterable[str], mask: str = MASK) -> None:
    """Rewrites ``path`` with the secrets masked, line by line; replaces it only if it changed."""
    changed = False
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        options: dict[str, Any] = {"encoding": "utf-8", "errors": "surrogateescape", "newline": ""}
        with path.open(**options) as source, open(handle, "w", **options) as target:
            for line in source:
                clean = scrub(line, secrets, mask)
                changed = changed or clean is not line
                target.write(clean)
        if changed:
            shutil.copymode(path, temporary)
            os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):  # not replaced: unchanged, or failed
            os.unlink(temporary)
