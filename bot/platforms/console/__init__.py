"""The console desk: cards printed to the terminal, staff actions typed as lines."""
