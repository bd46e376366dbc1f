"""Sealing and opening whole profiles: keys, access, rules, binding, MAC checks."""
