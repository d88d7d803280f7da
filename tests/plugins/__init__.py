"""Test-only channel plugins, registered through a fake distribution by the registry tests."""
