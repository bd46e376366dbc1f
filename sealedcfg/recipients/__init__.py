"""Recipients: one class per kind of holder of a file's data key, in one table.

Layer: below `engine`, above `format`.  `table.KINDS` is the table; `base` the
interface; `key`, `passphrase`, `age`, `kms` one module per kind.
"""
