"""The Sweep screen's feature: sweep state, the sweep's child process and its widgets."""
