"""One module per screen: lab (configure and train), runs, compare, sample (and more later)."""
