"""Reading the mail server's logs: line readers and the correlator (no UI imports)."""
