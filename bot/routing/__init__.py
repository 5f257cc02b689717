"""Pure routing core: rules, rules file, keywords, router and escalation. No I/O, no clock."""
