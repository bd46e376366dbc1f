"""`sealedcfg import`: existing secrets from `.env`, JSON, YAML and sops files into a profile.

source.py reads (dotenv.py, sops.py with sopsfile.py, sopscrypt.py, sopskeys.py), render.py
writes YAML, merge.py merges into a sealed profile, run.py does one import end to end.
"""
