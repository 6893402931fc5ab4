"""The pipeline around the network: params.yaml's schema as typed config, the
pipeline's data files, all-or-nothing outputs, errors, and the runner that
gives every entry point one error boundary."""
