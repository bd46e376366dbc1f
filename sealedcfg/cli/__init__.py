"""Thin typer commands over `sealedcfg.api`; `main` holds the app."""
