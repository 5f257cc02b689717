"""Matrix: one shared client (the link), a source for public rooms and the staff desk."""
