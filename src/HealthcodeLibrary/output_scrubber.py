"""A listener that masks every secret the process knows in what Robot Framework writes.

Why: tokens reach suites as ``Secret`` values, which Robot never logs, but an author who unwraps
one (``${v}=  Evaluate  $token.value``, then ``Log  ${v}``, a failing ``Should Be Equal`` or
``Create Dictionary  Authorization=Bearer ${token.value}``) puts it in output.xml, log.html,
report.html, the console and the debug file. ``REDACTOR`` knows every secret the process has
learnt (tokens, code, verifier, client secret); this listener masks them before Robot writes.

How (Robot Framework 7.4 and 7.5, ``robot/output/logger.py``): ``Logger.log_message``,
``Logger.message`` and every ``end_*`` event reach the listeners first and Robot's own writers
(console, output.xml, syslog, debug file) after them, with the objects the listeners changed; at
``start_*`` events the writers come first. output.xml writes a keyword's arguments, assignments
and status message, and a test's or suite's documentation, metadata, tags and message, at end
events, so masking them there is in time; log.html, report.html and xunit come from output.xml.
The debug file writes names, arguments and FOR loop values at start events, and DEBUG messages
that the log level keeps from listeners: it is rewritten once Robot has closed it (``close``).

Out of a listener's reach: ``Log To Console`` and the echo of what a keyword wrote to stderr go
straight to the process's streams; ``console=True`` on a message below the log level; test
names; suites that do not import the library (library listeners hear only their own suites;
``--listener HealthcodeLibrary.output_scrubber.OutputScrubber`` covers every suite of a run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robot.result import ForIteration

from healthcode_auth.redaction import MASK, REDACTOR, SecretRedactor, mask_secrets

if TYPE_CHECKING:
    from robot import result, running

CUT = "..."  # how Robot marks what it cut: `${v} = <first 200 characters>...`; long errors: `...<end>`
MIN_CUT = 8  # a cut part of a secret this long or longer is masked too
HTML_MASK = MASK.replace("<", "&lt;").replace(">", "&gt;")  # html.escape(MASK), without importing html
WITHHELD = "<message withheld: it could not be checked for secrets>"


def scrub(text: str, secrets: frozenset[str], mask: str = MASK) -> str:
    """``text`` (the same object if unchanged) with every secret, whole or cut by Robot, masked."""
    text = mask_secrets(text, secrets, mask)
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
        if part.endswith(secret[:found + MIN_CUT]):
            longest = found + MIN_CUT
        found = secret.find(probe, found + 1)
    return part[:-longest] + mask if longest else part


def _mask_tail(part: str, secret: str, mask: str) -> str:
    """Masks the longest end of ``secret`` that ``part`` starts with (``part`` came after a cut)."""
    probe = part[:MIN_CUT]
    found = secret.find(probe) if len(probe) == MIN_CUT else -1
    while found >= 0:
        if part.startswith(secret[found:]):
            return mask + part[len(secret) - found:]  # the first match is the longest
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

    def end_keyword(self, data: running.Keyword, result: result.Keyword) -> None:
        secrets = self._redactor.secrets
        if secrets:
            with suppress(Exception):  # a listener must never break the run
                _scrub_fields(result, secrets, "args", "assign", "doc", "message")

    def end_body_item(self, data: Any, result: Any) -> None:
        """Control structures (FOR, IF, TRY, WHILE, VAR, GROUP...): status message, loop values."""
        secrets = self._redactor.secrets
        if secrets:
            with suppress(Exception):
                _scrub_fields(result, secrets, "message")
                if isinstance(result, ForIteration):  # {'${name}': 'value as logged'}
                    for name, value in result.assign.items():
                        result.assign[name] = scrub(value, secrets)

    def end_test(self, data: running.TestCase, result: result.TestCase) -> None:
        self._end_suite_or_test(result, "message", "doc", "tags")

    def end_suite(self, data: running.TestSuite, result: result.TestSuite) -> None:
        self._end_suite_or_test(result, "message", "doc")

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


def _scrub_fields(item: Any, secrets: frozenset[str], *names: str) -> None:
    """Masks the named string or string-sequence attributes, setting only those that change."""
    for name in names:
        value = getattr(item, name)
        if isinstance(value, str):
            clean: Any = scrub(value, secrets)
        else:  # arguments (not always strings), assignments, tags: a tuple of strings if changed
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


def _scrub_file(path: Path, secrets: frozenset[str]) -> None:
    """Rewrites ``path`` with the secrets masked, line by line; replaces it only if it changed."""
    changed = False
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        options: dict[str, Any] = {"encoding": "utf-8", "errors": "surrogateescape", "newline": ""}
        with path.open(**options) as source, open(handle, "w", **options) as target:
            for line in source:
                clean = scrub(line, secrets)
                changed = changed or clean is not line
                target.write(clean)
        if changed:
            shutil.copymode(path, temporary)
            os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):  # not replaced: unchanged, or failed
            os.unlink(temporary)
