"""`leadrelay demo`: sample leads (`data`) and weeks of the lifecycle simulated with `as_of`
advancing (`run`)."""
