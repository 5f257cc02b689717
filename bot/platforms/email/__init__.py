"""Email: the library's mailbox over IMAP as a source, replies over SMTP (also for web-form questions)."""
