"""The directory: people, roles, sub-regions and contact lists, parsed from YAML and CSV."""
