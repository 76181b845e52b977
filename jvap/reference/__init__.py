"""Reference data: regions, countries, partners, processes, domains and priorities."""
