"""The REST API, version 1 (`/api/v1`): one router per resource."""
