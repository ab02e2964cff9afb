import sys

from git_sessions.cli import main

sys.exit(main())
