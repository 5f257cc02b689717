"""The /rota and !rota command grammar: parsing, arguments, result types and rendering. Pure."""
