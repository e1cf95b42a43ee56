"""What the tests share: the real servers they start (Dovecot, an SMTP sink, a fault proxy, an
OAuth2 server, Chromium), the crash driver, and the mail and document generators."""
