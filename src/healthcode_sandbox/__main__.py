"""``python -m healthcode_sandbox``: run the sandbox until Ctrl+C (see ``--help``)."""

from healthcode_sandbox.cli import main

raise SystemExit(main())
