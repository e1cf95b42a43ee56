"""The console's Flask application: the guard, headers and error pages of web.console around the
blueprints of web.auth (log in/out) and web.views (the pages); Jinja filters show dates in the
campaign's time zone as 15/10/2021 and states, kinds, items and reasons in Vietnamese."""

from __future__ import annotations

from flask import Flask, g

from core.campaignconfig import OTHER
from notifier.reasons import vi as reason_vi
from notifier.render import fmt_date, fmt_datetime, fmt_deadline, fmt_number, item_label, kind_label
from web import auth, mailviews, views
from web.console import ERRORS, STATE_VI, Console, error_page, guard, security_headers


def create_app(c: Console) -> Flask:
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.extensions["intake"] = c
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["SECRET_KEY"] = None  # Flask's own cookie session is not used
    app.before_request(guard)
    app.after_request(security_headers)
    for code in ERRORS:
        app.register_error_handler(code, error_page)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(mailviews.bp)
    tz = c.tz
    app.jinja_env.filters.update(
        date=lambda dt: fmt_date(dt, tz),
        datetime=lambda dt: fmt_datetime(dt, tz),
        deadline=lambda dt: fmt_deadline(dt, tz),
        number=fmt_number,
        kind=kind_label,
        item=item_label,
        state=lambda s: STATE_VI.get(s, s),
        reason=reason_vi,
    )
    app.jinja_env.globals.update(
        office="Phòng GD&ĐT huyện Thanh Oai",
        campaign=c.cfg.campaign,
        who=lambda: g.get("who"),
        here=views.here,
        other_campaign=OTHER,
        campaigns=c.cfg.campaigns,
    )
    return app
