"""Services: the application's logic, called by handlers, workers and the CLI."""
