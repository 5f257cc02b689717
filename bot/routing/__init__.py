"""Pure routing core: rules, rota, router and the rota command grammar. No I/O, no clock."""
