"""Service functions: the logic that views, the API, the CLI, tasks and seeds all call."""
