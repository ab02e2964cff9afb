"""The command server (opt-in, GIT_SESSIONS_SERVER=1): a process that has imported everything
the commands use and forks one preloaded child per command, so a command skips Python's
start-up and imports (docs/server.md). `client` is what every command runs first; it imports
only the standard library's light modules."""
