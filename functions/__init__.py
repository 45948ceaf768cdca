"""confsync's Cloud Functions, one package per function."""
