"""The sealed-file format (FORMAT.md): AEAD and key derivation, tokens, the header envelope."""
