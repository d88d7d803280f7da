"""The service layer: the use cases, each in one transaction, typed against engine.ports."""
