"""The rules: one module per rule, its file name its id. Every module here is a rule (the engine
discovers them all and refuses one that is not); shared helpers live one level up, in streams.detect."""
