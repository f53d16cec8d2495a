"""Plan targets: the plan's indicators, their target values, and figures entered by hand."""
