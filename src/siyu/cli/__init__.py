"""The `siyu` command line: a thin edge over the same services the API uses."""
