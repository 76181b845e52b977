"""jvap: monitoring database and data-collection tool for the Joint Valletta Action Plan."""

__version__ = "0.1.0"
