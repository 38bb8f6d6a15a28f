//! The dashboard at `GET /`: one framework-free page (HTML, CSS, JS) and the vendored
//! charting library (uPlot), embedded at compile time, so it works offline with no CDN.
//! It reads only the admin JSON API.

use actix_web::{web, HttpResponse};

const INDEX_HTML: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const APP_CSS: &str = include_str!("dashboard/app.css");
const UPLOT_JS: &str = include_str!("dashboard/vendor/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("dashboard/vendor/uPlot.min.css");

/// No framing by other sites (clickjacking), no scripts or styles from elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("content-security-policy", CSP))
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header(("x-frame-options", "DENY"))
        .insert_header(("referrer-policy", "no-referrer"))
        .body(body)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/dashboard/app.js", web::get().to(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/dashboard/app.css", web::get().to(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/dashboard/uPlot.js", web::get().to(|| async { asset("text/javascript; charset=utf-8", UPLOT_JS) }))
        .route("/dashboard/uPlot.css", web::get().to(|| async { asset("text/css; charset=utf-8", UPLOT_CSS) }));
}
