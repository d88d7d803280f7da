"""Plan-as-code: load a YAML plan, check it as a whole, and draw it.

`loader.load_definition(path)` is the usual entry point: it parses the file safely
(`yaml_loader`), validates it against the schema (`schema`), runs the whole-plan checks
(`checks/`) and returns an immutable `Definition` (`definition`), or raises `DefinitionError`
listing every error with `path:line:col`. `diagram` draws a plan; `report` formats `validate`.

Nothing is imported here: importing one module of the package must not load the others.
"""
