"""The console: a Textual app over the core's live sources (the core never imports this)."""
