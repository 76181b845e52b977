"""Progress summaries and Excel/CSV reports."""
