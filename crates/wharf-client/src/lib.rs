//! A typed client for Wharf's REST API.
//!
//! Errors keep what the server said: a problem document's title and detail (and
//! every invalid field), so the CLI can print something a person can act on.

pub mod pull;
mod subscriptions;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wharf_api_types::{
    CompareQuery, Comparison, CreateOrgRequest, CreateTokenRequest, CreatedTokenView, CurrentUserView, EventView,
    GoLiveRequest, HealthView, MediaView, MemberView, OfferView, OrgView, Page, PageQuery, ProgressEvent,
    PromotedImageView, SaveResult, SbomView, SetMemberRequest, StepView, SubmitResult, TokenView, VersionView,
};
pub use wharf_api_types::{FieldError, Problem};
use wharf_core::TokenId;
use wharf_offer::OfferSpec;

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
    /// No credentials (what anyone may read: the catalog, the signing key).
    Anonymous,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Auth::Token(_) => write!(f, "Token(***)"),
            Auth::Anonymous => write!(f, "Anonymous"),
        }
    }
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
            Auth::Anonymous => rb,
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
            status: status.as_u16(),
            detail: text.chars().take(500).collect(),
            errors: Vec::new(),
        });
        Err(ClientError::Api { status: status.as_u16(), problem })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        self.send(self.request(reqwest::Method::POST, path).json(body)).await
    }

    async fn delete(&self, path: &str) -> Result<(), ClientError> {
        self.send_raw(self.request(reqwest::Method::DELETE, path)).await.map(|_| ())
    }

    /// Every item of the paginated collection at `path` (e.g. `/api/v1/orgs/acme/offers`).
    pub async fn all_pages<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ClientError> {
        let mut items = Vec::new();
        let mut query = PageQuery { limit: Some(200), cursor: None };
        loop {
            let rb = self.request(reqwest::Method::GET, path).query(&query);
            let page: Page<T> = self.send(rb).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(c) => query.cursor = Some(c),
                None => return Ok(items),
            }
        }
    }

    // ---- the caller and their tokens ----

    /// `GET /api/v1/user`.
    pub async fn current_user(&self) -> Result<CurrentUserView, ClientError> {
        self.get("/api/v1/user").await
    }

    /// `POST /api/v1/user/tokens` (needs password authentication).
    pub async fn create_token(&self, request: &CreateTokenRequest) -> Result<CreatedTokenView, ClientError> {
        self.post("/api/v1/user/tokens", request).await
    }

    /// `GET /api/v1/user/tokens`, every page.
    pub async fn tokens(&self) -> Result<Vec<TokenView>, ClientError> {
        self.all_pages("/api/v1/user/tokens").await
    }

    /// `DELETE /api/v1/user/tokens/{id}`.
    pub async fn revoke_token(&self, id: TokenId) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/user/tokens/{id}")).await
    }

    // ---- organizations ----

    /// `GET /api/v1/orgs`, every page: all of them for operators, otherwise the caller's.
    pub async fn orgs(&self) -> Result<Vec<OrgView>, ClientError> {
        self.all_pages("/api/v1/orgs").await
    }

    /// `POST /api/v1/orgs`.
    pub async fn create_org(&self, request: &CreateOrgRequest) -> Result<OrgView, ClientError> {
        self.post("/api/v1/orgs", request).await
    }

    /// `GET /api/v1/orgs/{org}`.
    pub async fn org(&self, org: &str) -> Result<OrgView, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}")).await
    }

    /// `GET /api/v1/orgs/{org}/members`, every page.
    pub async fn members(&self, org: &str) -> Result<Vec<MemberView>, ClientError> {
        self.all_pages(&format!("/api/v1/orgs/{org}/members")).await
    }

    /// `PUT /api/v1/orgs/{org}/members/{user}`.
    pub async fn set_member(
        &self,
        org: &str,
        user: &str,
        request: &SetMemberRequest,
    ) -> Result<MemberView, ClientError> {
        let rb = self.request(reqwest::Method::PUT, &format!("/api/v1/orgs/{org}/members/{user}")).json(request);
        self.send(rb).await
    }

    /// `DELETE /api/v1/orgs/{org}/members/{user}`.
    pub async fn remove_member(&self, org: &str, user: &str) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/orgs/{org}/members/{user}")).await
    }

    // ---- offers ----

    /// `GET /api/v1/orgs/{org}/offers/{offer}/draft`: the draft and its ETag, or
    /// `None` when the offer does not exist (or is not visible).
    pub async fn offer_draft(&self, org: &str, offer: &str) -> Result<Option<(OfferSpec, String)>, ClientError> {
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
    pub async fn create_offer(&self, org: &str, doc: &OfferSpec) -> Result<SaveResult, ClientError> {
        self.post(&format!("/api/v1/orgs/{org}/offers"), doc).await
    }

    /// `PUT /api/v1/orgs/{org}/offers/{offer}/draft` with `If-Match: etag`.
    pub async fn put_offer_draft(
        &self,
        org: &str,
        offer: &str,
        doc: &OfferSpec,
        etag: &str,
    ) -> Result<SaveResult, ClientError> {
        let rb = self
            .request(reqwest::Method::PUT, &format!("/api/v1/orgs/{org}/offers/{offer}/draft"))
            .header("if-match", etag)
            .json(doc);
        self.send(rb).await
    }

    /// `POST /api/v1/orgs/{org}/media`.
    pub async fn upload_media(&self, org: &str, bytes: Vec<u8>) -> Result<MediaView, ClientError> {
        let rb = self
            .request(reqwest::Method::POST, &format!("/api/v1/orgs/{org}/media"))
            .header("content-type", "application/octet-stream")
            .body(bytes);
        self.send(rb).await
    }

    /// `GET /api/v1/orgs/{org}/offers`, every page.
    pub async fn offers(&self, org: &str) -> Result<Vec<OfferView>, ClientError> {
        self.all_pages(&format!("/api/v1/orgs/{org}/offers")).await
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}`.
    pub async fn offer(&self, org: &str, offer: &str) -> Result<OfferView, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/offers/{offer}")).await
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}`.
    pub async fn offer_version(&self, org: &str, offer: &str, version: u32) -> Result<VersionView, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/offers/{offer}/versions/{version}")).await
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/steps`.
    pub async fn version_steps(&self, org: &str, offer: &str, version: i64) -> Result<Vec<StepView>, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/offers/{offer}/versions/{version}/steps")).await
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/report`, as JSON.
    pub async fn version_report(&self, org: &str, offer: &str, version: u32) -> Result<serde_json::Value, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/offers/{offer}/versions/{version}/report")).await
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/compare?with=…`.
    pub async fn compare_offer(&self, org: &str, offer: &str, with: &str) -> Result<Comparison, ClientError> {
        let query = CompareQuery { with: Some(with.to_owned()) };
        let rb =
            self.request(reqwest::Method::GET, &format!("/api/v1/orgs/{org}/offers/{offer}/compare")).query(&query);
        self.send(rb).await
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/history`, every page.
    pub async fn offer_history(&self, org: &str, offer: &str) -> Result<Vec<EventView>, ClientError> {
        self.all_pages(&format!("/api/v1/orgs/{org}/offers/{offer}/history")).await
    }

    /// `POST /api/v1/orgs/{org}/offers/{offer}/submit`.
    pub async fn submit_offer(&self, org: &str, offer: &str) -> Result<SubmitResult, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/orgs/{org}/offers/{offer}/submit"))).await
    }

    /// `POST` of a lifecycle change of an offer: `/cancel`, `/stop-sell`, `/resume`,
    /// `/plans/{plan}/stop-sell`, `/plans/{plan}/resume`.
    pub async fn change_offer(&self, org: &str, offer: &str, change: &str) -> Result<OfferView, ClientError> {
        self.send(self.request(reqwest::Method::POST, &format!("/api/v1/orgs/{org}/offers/{offer}{change}"))).await
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/images`.
    pub async fn promoted_images(
        &self,
        org: &str,
        offer: &str,
        version: i64,
    ) -> Result<Vec<PromotedImageView>, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/offers/{offer}/versions/{version}/images")).await
    }

    /// `POST /api/v1/orgs/{org}/offers/{offer}/go-live` with a fresh `Idempotency-Key`,
    /// sent again once with the same key if the server could not be reached: the
    /// sign-off happens once either way.
    pub async fn go_live(&self, org: &str, offer: &str, version: i64) -> Result<OfferView, ClientError> {
        let key = uuid::Uuid::new_v4().to_string();
        let path = format!("/api/v1/orgs/{org}/offers/{offer}/go-live");
        let body = GoLiveRequest { version };
        let send = || self.request(reqwest::Method::POST, &path).header("idempotency-key", &key).json(&body);
        match self.send(send()).await {
            Err(ClientError::Unreachable { .. }) => self.send(send()).await,
            other => other,
        }
    }

    /// `GET /api/v1/marketplace/signing-key`: the marketplace's public key (PEM).
    pub async fn signing_key(&self) -> Result<String, ClientError> {
        let response = self.send_raw(self.request(reqwest::Method::GET, "/api/v1/marketplace/signing-key")).await?;
        response.text().await.map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Follows `GET …/versions/{version}/events` (server-sent events), calling
    /// `on_event` with each `progress` event until the version settles; returns the
    /// last one.
    pub async fn watch_version(
        &self,
        org: &str,
        offer: &str,
        version: i64,
        mut on_event: impl FnMut(&ProgressEvent),
    ) -> Result<ProgressEvent, ClientError> {
        use futures::StreamExt as _;
        let path = format!("/api/v1/orgs/{org}/offers/{offer}/versions/{version}/events");
        // A watch lasts as long as the pipeline does, not the usual request timeout.
        let rb = self
            .request(reqwest::Method::GET, &path)
            .header("accept", "text/event-stream")
            .timeout(Duration::from_secs(7 * 24 * 3600));
        let response = self.send_raw(rb).await?;
        let mut body = response.bytes_stream();
        let mut buffer = String::new();
        let mut last: Option<ProgressEvent> = None;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ClientError::Protocol(format!("the event stream broke off: {e}")))?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            // Events end with a blank line (the server writes `\n`).
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let (mut kind, mut data) = ("message", String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        kind = if v.trim() == "progress" {
                            "progress"
                        } else if v.trim() == "error" {
                            "error"
                        } else {
                            "other"
                        };
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                match kind {
                    "progress" => {
                        let event: ProgressEvent =
                            serde_json::from_str(&data).map_err(|e| ClientError::Protocol(e.to_string()))?;
                        on_event(&event);
                        let settled = event.settled;
                        last = Some(event);
                        if settled {
                            return last.ok_or_else(|| ClientError::Protocol("no event".into()));
                        }
                    }
                    "error" => return Err(ClientError::Protocol(format!("the server stopped the watch: {data}"))),
                    _ => {}
                }
            }
        }
        last.ok_or_else(|| ClientError::Protocol("the event stream ended without an event".into()))
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/health`; `None` before
    /// the version is graded.
    pub async fn version_health(
        &self,
        org: &str,
        offer: &str,
        version: i64,
    ) -> Result<Option<HealthView>, ClientError> {
        match self.get(&format!("/api/v1/orgs/{org}/offers/{offer}/versions/{version}/health")).await {
            Ok(h) => Ok(Some(h)),
            Err(ClientError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/sboms`.
    pub async fn version_sboms(&self, org: &str, offer: &str, version: i64) -> Result<Vec<SbomView>, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/offers/{offer}/versions/{version}/sboms")).await
    }

    /// `GET /api/v1/orgs/{org}/offers/{offer}/versions/{version}/sboms/{digest}`, as JSON.
    pub async fn version_sbom(
        &self,
        org: &str,
        offer: &str,
        version: i64,
        digest: &str,
    ) -> Result<serde_json::Value, ClientError> {
        self.get(&format!("/api/v1/orgs/{org}/offers/{offer}/versions/{version}/sboms/{digest}")).await
    }

    // ---- the catalog ----

    /// `GET /api/v1/catalog` with `query`, in `language` (an `Accept-Language` value).
    pub async fn catalog_search(
        &self,
        query: &wharf_api_types::CatalogQuery,
        language: Option<&str>,
    ) -> Result<wharf_api_types::CatalogResults, ClientError> {
        let mut rb = self.request(reqwest::Method::GET, "/api/v1/catalog").query(query);
        if let Some(l) = language {
            rb = rb.header(reqwest::header::ACCEPT_LANGUAGE, l);
        }
        self.send(rb).await
    }

    /// `GET /api/v1/catalog/{publisher}/{offer}`, in `language`.
    pub async fn catalog_listing(
        &self,
        publisher: &str,
        offer: &str,
        language: Option<&str>,
    ) -> Result<wharf_api_types::CatalogListingView, ClientError> {
        let mut rb = self.request(reqwest::Method::GET, &format!("/api/v1/catalog/{publisher}/{offer}"));
        if let Some(l) = language {
            rb = rb.header(reqwest::header::ACCEPT_LANGUAGE, l);
        }
        self.send(rb).await
    }
}
