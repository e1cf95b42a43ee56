"""The officer's web console: `intake web` serves it (waitress) over the daemon's own store.

console.py   what every view shares, and the access guard (login, CSRF, roles)
accounts.py  accounts (argon2), server-side sessions, the login throttle
auth.py      log in and out
views.py     the pages and the stored files; data.py the queries they read
app.py       the Flask application; server.py the waitress server; cli.py the commands
"""
