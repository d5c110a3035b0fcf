"""Differential runs of the simulator against the real Kueue: random small portfolios, each with steps that switch
models on and off, written so that a person can replay them (`portfolios`)."""
