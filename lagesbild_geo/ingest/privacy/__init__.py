"""The privacy gate (``gate``) and its rules, one module each: read -> privacy -> validate."""
