"""Local demo services for `opsconsole demo`."""
