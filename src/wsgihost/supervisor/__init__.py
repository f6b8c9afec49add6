"""The master process and its plan for the other processes."""
