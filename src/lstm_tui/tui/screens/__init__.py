"""One module per screen: lab (configure and train), runs, run_detail, compare, sample,
sweep, presets."""
