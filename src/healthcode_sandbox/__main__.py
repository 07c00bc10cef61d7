"""``python -m healthcode_sandbox``: run the sandbox until Ctrl+C (see ``--help``)."""

from healthcode_sandbox import main

raise SystemExit(main())
