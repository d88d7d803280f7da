"""The domain, free of I/O: incidents, outcomes, the evaluator, conditions, fields, labels."""
