"""opsconsole: the terminal console an on-call support engineer keeps open for a whole shift."""

__version__ = "0.1.0"
