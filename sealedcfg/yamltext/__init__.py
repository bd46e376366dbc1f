"""YAML as text: events, the span-keeping document, paths, scalars, edits, the typed model."""
