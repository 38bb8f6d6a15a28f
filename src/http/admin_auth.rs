//! Who is calling the admin API, and may they do this: the admin key, or an API key (which
//! sees only its own data, read-only), presented as `Authorization: Bearer` or through a
//! dashboard session (an HttpOnly, SameSite=Strict cookie) whose state-changing calls must
//! carry the session's CSRF token in `X-CSRF-Token`.

use crate::auth::{constant_time_eq, AuthFailure};
use crate::error::GatewayError;
use crate::state::AppState;
use actix_web::HttpRequest;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The dashboard session cookie.
pub const SESSION_COOKIE: &str = "sb_session";
/// A session lasts this long from sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions held at most (per replica); past it the oldest is dropped.
pub const MAX_SESSIONS: usize = 10_000;

/// The caller of an admin route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Admin,
    /// An API key: sees only rows of `name`, changes nothing.
    Key {
        name: String,
        key_sha256: [u8; 32],
    },
}

impl Viewer {
    /// The key whose data this viewer is limited to (`None`: everything).
    pub fn only_key(&self) -> Option<&str> {
        match self {
            Viewer::Admin => None,
            Viewer::Key { name, .. } => Some(name),
        }
    }

    pub fn role(&self) -> &'static str {
        match self {
            Viewer::Admin => "admin",
            Viewer::Key { .. } => "key",
        }
    }
}

struct Session {
    viewer: Viewer,
    csrf: String,
    expires: Instant,
}

/// Dashboard sessions by the SHA-256 of their cookie (the cookie itself is not kept).
#[derive(Default)]
pub struct AdminSessions {
    by_hash: Mutex<HashMap<[u8; 32], Session>>,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl AdminSessions {
    /// A new session for `viewer`: (cookie value, CSRF token).
    pub fn open(&self, viewer: Viewer) -> (String, String) {
        let token = crate::ids::random_alphanumeric(40);
        let csrf = crate::ids::random_alphanumeric(32);
        let mut map = self.by_hash.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        map.insert(digest(&token), Session { viewer, csrf: csrf.clone(), expires: now + SESSION_TTL });
        (token, csrf)
    }

    /// The session of this cookie value, if live: (viewer, CSRF token).
    fn find(&self, token: &str) -> Option<(Viewer, String)> {
        let map = self.by_hash.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&digest(token)).filter(|s| s.expires > Instant::now()).map(|s| (s.viewer.clone(), s.csrf.clone()))
    }

    /// The CSRF token of a live session.
    pub fn csrf_of(&self, token: &str) -> Option<String> {
        self.find(token).map(|(_, csrf)| csrf)
    }

    pub fn close(&self, token: &str) {
        self.by_hash.lock().unwrap_or_else(|e| e.into_inner()).remove(&digest(token));
    }
}

/// The `Set-Cookie` value for the session cookie (an empty value with max-age 0 clears it).
pub fn session_cookie(value: &str, max_age: Duration) -> String {
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", max_age.as_secs())
}

/// The session cookie's value from the `Cookie` header, if any.
pub fn session_token(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// Resolves a presented secret to a viewer: the admin key, a YAML key or a runtime key.
pub fn viewer_for_secret(state: &AppState, secret: &str, req: &HttpRequest) -> Result<Viewer, GatewayError> {
    let runtime = state.runtime();
    if let Some(admin) = &runtime.config.server.admin_key {
        if constant_time_eq(&digest(admin.expose()), &digest(secret)) {
            return Ok(Viewer::Admin);
        }
    }
    let peer = req.peer_addr().map(|a| a.ip());
    let key = match runtime.keys.authenticate(Some(secret), peer) {
        Err(AuthFailure::Unknown) => state.runtime_keys().authenticate(secret, peer).map(|(k, _)| k),
        other => other,
    };
    match key {
        Ok(key) if key.expires_at_ms.is_none_or(|t| t > crate::utc::now_ms()) => {
            Ok(Viewer::Key { name: key.name.clone(), key_sha256: key.key_sha256 })
        }
        Ok(key) => Err(GatewayError::Unauthenticated(format!("key `{}` has expired", key.name))),
        Err(AuthFailure::AddressNotAllowed { key, peer }) => Err(GatewayError::IpNotAllowed { key, ip: peer }),
        Err(_) => Err(GatewayError::Unauthenticated(
            "unknown key: sign in with server.admin_key (everything) or an API key (its own usage)".into(),
        )),
    }
}

/// Is this key (by hash) still live, YAML or runtime? A revoked key's sessions end with it.
fn still_live(state: &AppState, viewer: &Viewer) -> bool {
    match viewer {
        Viewer::Admin => state.runtime().config.server.admin_key.is_some(),
        Viewer::Key { key_sha256, .. } => {
            state.runtime().config.keys.iter().any(|k| &k.key_sha256 == key_sha256) || state.runtime_keys().snapshot().is_live(key_sha256)
        }
    }
}

/// The caller of an admin route. `changes`: the route changes state, so a cookie session
/// must also present its CSRF token (a bearer key needs none: browsers never send it on
/// their own).
pub fn viewer(req: &HttpRequest, state: &AppState, sessions: &AdminSessions, changes: bool) -> Result<Viewer, GatewayError> {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().strip_prefix("Bearer ").unwrap_or(v).trim())
        .filter(|v| !v.is_empty());
    if let Some(secret) = bearer {
        return viewer_for_secret(state, secret, req);
    }
    let Some(cookie) = session_token(req) else {
        return Err(GatewayError::Unauthenticated(
            "sign in first: POST /api/v1/admin/session, or send `Authorization: Bearer <server.admin_key or an API key>`".into(),
        ));
    };
    let Some((viewer, csrf)) = sessions.find(&cookie).filter(|(v, _)| still_live(state, v)) else {
        return Err(GatewayError::Unauthenticated("the dashboard session has ended; sign in again".into()));
    };
    if changes {
        let sent = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !constant_time_eq(&digest(sent), &digest(&csrf)) {
            return Err(GatewayError::Forbidden(
                "missing or wrong X-CSRF-Token: a change made with the session cookie must send the token returned at sign-in".into(),
            ));
        }
    }
    Ok(viewer)
}

/// Admin-only routes refuse API keys.
pub fn require_admin(viewer: &Viewer, what: &str) -> Result<(), GatewayError> {
    match viewer {
        Viewer::Admin => Ok(()),
        Viewer::Key { .. } => {
            Err(GatewayError::Forbidden(format!("{what} needs the admin key (server.admin_key); an API key sees only its own usage")))
        }
    }
}
