"""What the daemon sends: receipts, reminders, the digest, the consolidated workbook."""
