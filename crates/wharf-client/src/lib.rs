//! A typed client for Wharf's REST API.
//!
//! Errors keep what the server said: a problem document's title and detail (and
//! every invalid field), so the CLI can print something a person can act on.

pub mod pull;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How to authenticate.
#[derive(Clone)]
pub enum Auth {
    /// HTTP Basic with a user name and a password or API token.
    Basic {
        /// User name.
        user: String,
        /// Password or API token.
        secret: String,
    },
    /// An API token as a Bearer credential.
    Token(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Auth::Token(_) => write!(f, "Token(***)"),
        }
    }
}

/// A field the server found invalid.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FieldProblem {
    /// JSON Pointer to the field.
    pub pointer: String,
    /// The rule it broke.
    pub detail: String,
}

/// An RFC 9457 problem document from the server.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    /// Kind URI.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Summary.
    #[serde(default)]
    pub title: String,
    /// Details.
    #[serde(default)]
    pub detail: String,
    /// Invalid fields.
    #[serde(default)]
    pub errors: Vec<FieldProblem>,
}

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached.
    #[error("cannot reach the Wharf server at {url}: {source}")]
    Unreachable {
        /// The server URL.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{}", describe(*.status, .problem))]
    Api {
        /// HTTP status.
        status: u16,
        /// The problem document.
        problem: Problem,
    },
    /// The answer was not what this client understands.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    /// The server URL is unusable.
    #[error("invalid server URL {0:?}: expected e.g. http://127.0.0.1:5000")]
    BadUrl(String),
}

impl ClientError {
    /// The HTTP status, for errors the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn describe(status: u16, p: &Problem) -> String {
    let mut s = format!("the server refused ({status} {}): {}", p.title, p.detail);
    for e in &p.errors {
        s.push_str(&format!("\n  {}: {}", e.pointer, e.detail));
    }
    s
}

/// The caller, as `GET /api/v1/user` describes them.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CurrentUser {
    /// Login name.
    pub name: String,
    /// Contact address.
    pub email: Option<String>,
    /// `password` or `api_token`.
    pub credential: String,
    /// Scopes of the credential in use.
    pub scopes: Vec<String>,
    /// Highest operator role, if any.
    pub operator_role: Option<String>,
}

/// A token returned by `POST /api/v1/user/tokens`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CreatedToken {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Expiry, RFC 3339.
    pub expires_at: Option<String>,
    /// The secret, shown once.
    pub secret: String,
}

/// A client bound to one server and credential.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: url::Url,
    auth: Auth,
}

impl Client {
    /// A client for `server` (e.g. `http://127.0.0.1:5000`).
    pub fn new(server: &str, auth: Auth) -> Result<Client, ClientError> {
        let base = url::Url::parse(server.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| ClientError::BadUrl(server.to_owned()))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("wharf-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        Ok(Client { http, base, auth })
    }

    /// The server's base URL, normalised.
    pub fn server(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.server());
        let rb = self.http.request(method, url);
        match &self.auth {
            Auth::Basic { user, secret } => rb.basic_auth(user, Some(secret)),
            Auth::Token(t) => rb.bearer_auth(t),
        }
    }

    async fn send<T: DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let response = self.send_raw(rb).await?;
        response.json().await.map_err(|e| ClientError::Protocol(e.to_string()))
    }

    async fn send_raw(&self, rb: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let response = rb.send().await.map_err(|source| ClientError::Unreachable { url: self.server(), source })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let problem = serde_json::from_str::<Problem>(&text).unwrap_or_else(|_| Problem {
            kind: String::new(),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            detail: text.chars().take(500).collect(),
            errors: Vec::new(),
        });
        Err(ClientError::Api { status: status.as_u16(), problem })
    }

    /// `GET /api/v1/user`.
    pub async fn current_user(&self) -> Result<CurrentUser, ClientError> {
        self.send(self.request(reqwest::Method::GET, "/api/v1/user")).await
    }

    /// `POST /api/v1/user/tokens`.
    pub async fn create_token(
        &self,
        name: &str,
        scopes: &[&str],
        expires_in_days: u32,
    ) -> Result<CreatedToken, ClientError> {
        let body = serde_json::json!({"name": name, "scopes": scopes, "expires_in_days": expires_in_days});
        self.send(self.request(reqwest::Method::POST, "/api/v1/user/tokens").json(&body)).await
    }

    /// `DELETE /api/v1/user/tokens/{id}`.
    pub async fn revoke_token(&self, id: i64) -> Result<(), ClientError> {
        self.send_raw(self.request(reqwest::Method::DELETE, &format!("/api/v1/user/tokens/{id}"))).await.map(|_| ())
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/draft`: the draft and its ETag, or
    /// `None` when the offer does not exist (or is not visible).
    pub async fn offer_draft(
        &self,
        org: &str,
        offer: &str,
    ) -> Result<Option<(serde_json::Value, String)>, ClientError> {
        let rb = self.request(reqwest::Method::GET, &format!("/api/v1/orgs/{org}/offers/{offer}/draft"));
        match self.send_raw(rb).await {
            Ok(r) => {
                let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let doc = r.json().await.map_err(|e| ClientError::Protocol(e.to_string()))?;
                Ok(Some((doc, etag)))
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /api/v1/orgs/{org}/offers`.
    pub async fn create_offer(&self, org: &str, doc: &serde_json::Value) -> Result<SaveResult, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/orgs/{org}/offers")).json(doc)).await
    }

    /// `PUT /api/v1/orgs/{org}/offers/{offer}/draft` with `If-Match: etag`.
    pub async fn put_offer_draft(
        &self,
        org: &str,
        offer: &str,
        doc: &serde_json::Value,
        etag: &str,
    ) -> Result<SaveResult, ClientError> {
        let rb = self
            .request(reqwest::Method::PUT, &format!("/api/v1/orgs/{org}/offers/{offer}/draft"))
            .header("if-match", etag)
            .json(doc);
        self.send(rb).await
    }

    /// `POST /api/v1/orgs/{org}/media`.
    pub async fn upload_media(&self, org: &str, bytes: Vec<u8>) -> Result<MediaInfo, ClientError> {
        let rb = self
            .request(reqwest::Method::POST, &format!("/api/v1/orgs/{org}/media"))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        self.send(rb).await
    }

    /// `GET` of an offer resource under `/api/v1/orgs/{org}/offers/{offer}` (`""`,
    /// `/versions/3`, `/compare?with=live`, …), as JSON.
    pub async fn offer_get(&self, org: &str, offer: &str, rest: &str) -> Result<serde_json::Value, ClientError> {
        self.send(self.request(reqwest::Method::GET, &format!("/api/v1/orgs/{org}/offers/{offer}{rest}"))).await
    }

    /// `POST` of an offer action (`/submit`, `/cancel`, `/stop-sell`, `/plans/p/resume`, …).
    pub async fn offer_action(&self, org: &str, offer: &str, action: &str) -> Result<serde_json::Value, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/orgs/{org}/offers/{offer}{action}"))).await
    }

    /// Every item of a paginated collection at `path` (e.g. `/api/v1/orgs/acme/offers`).
    pub async fn all_pages(&self, path: &str) -> Result<Vec<serde_json::Value>, ClientError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                None => format!("{path}?limit=200"),
                Some(c) => format!("{path}?limit=200&cursor={c}"),
            };
            let page: serde_json::Value = self.send(self.request(reqwest::Method::GET, &url)).await?;
            if let Some(list) = page["items"].as_array() {
                items.extend(list.iter().cloned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(items),
            }
        }
    }
}

/// The answer to a saved offer draft.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SaveResult {
    /// The draft's revision now.
    pub revision: i64,
    /// Whether anything changed.
    pub changed: bool,
    /// Problems that did not block saving.
    #[serde(default)]
    pub warnings: Vec<FieldProblem>,
}

/// An uploaded listing image.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MediaInfo {
    /// `sha256:…`.
    pub digest: String,
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
}
