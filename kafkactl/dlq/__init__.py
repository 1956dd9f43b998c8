"""Dead-letter triage (DESIGN §10): what a DLQ holds, read in one pass without a group."""
