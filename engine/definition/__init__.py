"""Plan-as-code: load a YAML plan, check it as a whole, and draw it.

`loader.load_definition(path)` is the usual entry point: it parses the file safely
(`yaml_loader`), validates it against the schema (`schema`), runs the whole-plan checks
(`checks/`) and returns an immutable `Definition` (`definition`), or raises `DefinitionError`
listing every error with `path:line:col`. `diagram` draws a plan; `report` formats `validate`.
`channel_settings` holds the rules for channel settings (the kinds' declarations are handed in,
never imported) and `sandbox` the one Jinja sandbox and render limits templates run in, here so
that `validate` and the service render alike.

Nothing is imported here: importing one module of the package must not load the others.
"""
