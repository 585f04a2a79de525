"""The `leadrelay` command: `app` parses arguments and calls flows or functions, `errors` turns
failures into one sentence and an exit code, `output` prints tables and JSON."""
