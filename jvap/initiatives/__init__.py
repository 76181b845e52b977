"""The registry of JVAP initiatives (projects and policies) and their revisions."""
