"""Domain values and the boundary that makes platform fields safe (DESIGN §2)."""
