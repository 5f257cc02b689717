"""Reports: figures (pure), and their CSV and chart output."""
