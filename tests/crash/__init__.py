"""The crash-point matrix: the bot as a subprocess, killed with SIGKILL at named points."""
