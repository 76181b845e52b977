"""Data-collection campaigns: questionnaires, uploads, validation and review."""
