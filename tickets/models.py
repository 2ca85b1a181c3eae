"""Help-desk models (the help-desk issue fills this in)."""
