// Work in progress (issue 4): filled in by the next commits.
