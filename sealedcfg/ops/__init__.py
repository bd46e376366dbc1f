"""One module per user-level operation on sealed files: values, rotate, edit, diff, merge, ..."""
