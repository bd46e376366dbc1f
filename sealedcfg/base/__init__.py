"""Foundation every layer may use: limits, atomic file I/O, linear-time patterns, encodings."""
