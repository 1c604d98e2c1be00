"""The exit codes of the ``praxis`` command, for every task behind it (README "CLI")."""

EXIT_OK = 0
EXIT_FAILURE = 1  # the reason is on stderr
EXIT_USAGE = 2  # invalid usage or configuration
