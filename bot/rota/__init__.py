"""Pure rota core: shifts, the rota and its CSV form, opening hours, time specs. No I/O, no clock."""
