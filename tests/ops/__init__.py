"""Operations: logs, the HTTP server under hostile clients, file modes."""
