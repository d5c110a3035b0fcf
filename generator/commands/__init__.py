"""One module per command; each returns an Outcome (generator.console) and imports only the stages it needs."""
