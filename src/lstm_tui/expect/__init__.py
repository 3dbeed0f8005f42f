"""Expected results: the `[expect]` grammar for runs and sweeps, one bounds parser, and `verify`."""
