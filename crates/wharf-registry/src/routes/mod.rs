//! `/v2/<name>/…` handlers, one module per resource, and the dispatcher that picks
//! one from the path ([`crate::path`]) and method.

pub(crate) mod blobs;
pub(crate) mod catalog;
pub(crate) mod manifests;
pub(crate) mod referrers;
pub(crate) mod tags;
pub(crate) mod uploads;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use wharf_db::registry::Repository;
use wharf_oci::{ErrorCode, RepositoryName};

use crate::access::{Action, Caller};
use crate::error::RegistryError;
use crate::path::{self, PathError, Route};
use crate::response::{API_VERSION, CONTENT_DIGEST, OCI_FILTERS_APPLIED, empty, header_value};
use crate::service;
use crate::{RegistryState, RouteLabel};

/// One `/v2/<name>/…` request, with its caller identified.
pub(crate) struct Ctx {
    pub(crate) state: RegistryState,
    pub(crate) caller: Caller,
    pub(crate) name: RepositoryName,
    pub(crate) headers: HeaderMap,
    pub(crate) query: String,
}

impl Ctx {
    /// The repository, after checking `action` (it may not exist yet).
    pub(crate) async fn repository(&self, action: Action) -> Result<Option<Repository>, RegistryError> {
        let repo = service::repos::find(&self.state, &self.name).await?;
        let anonymous_pull = repo.as_ref().is_some_and(|r| r.anonymous_pull);
        self.caller
            .require(&self.state, &self.name, action, anonymous_pull, self.also_needed(action).as_deref())
            .await?;
        Ok(repo)
    }

    /// Another scope the request needs besides `action` on its repository: a
    /// cross-repository mount (`?mount=…&from=…`) reads the `from` repository, so a
    /// challenge names it and a client asking for exactly the challenged scopes can mount.
    fn also_needed(&self, action: Action) -> Option<String> {
        if action != Action::Push || self.param("mount").is_none() {
            return None;
        }
        let from = self.param("from")?.parse::<RepositoryName>().ok()?;
        (from != self.name).then(|| format!("repository:{from}:pull"))
    }

    /// The repository, which must exist, after checking `action`.
    pub(crate) async fn existing(&self, action: Action) -> Result<Repository, RegistryError> {
        self.repository(action).await?.ok_or_else(|| {
            RegistryError::new(ErrorCode::NameUnknown, format!("repository {} does not exist", self.name))
        })
    }

    /// The repository to push into, created on first push.
    pub(crate) async fn for_push(&self) -> Result<Repository, RegistryError> {
        match self.repository(Action::Push).await? {
            Some(repo) => Ok(repo),
            None => service::repos::create(&self.state, &self.name).await,
        }
    }

    /// A query parameter.
    pub(crate) fn param(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }

    /// A request header as text.
    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Routes a `/v2/<name>/…` request.
pub(crate) async fn dispatch(
    State(state): State<RegistryState>,
    method: Method,
    uri: Uri,
    client: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client = client.map(|axum::Extension(axum::extract::ConnectInfo(a))| a.ip());
    let tail = uri.path().strip_prefix("/v2/").unwrap_or_default();
    let (label, result) = match path::parse(tail) {
        Err(PathError::NotAnEndpoint) => (
            "/v2/{unknown}",
            Err(RegistryError::new(ErrorCode::Unsupported, "no such registry endpoint").status(StatusCode::NOT_FOUND)),
        ),
        Err(PathError::BadName(detail)) => ("/v2/{invalid}", Err(RegistryError::new(ErrorCode::NameInvalid, detail))),
        Ok((name, route)) => {
            let incoming = Incoming { query: uri.query().unwrap_or_default().to_owned(), headers, client };
            route_request(state, method, incoming, body, name, route).await
        }
    };
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    response.headers_mut().insert(API_VERSION.0, API_VERSION.1);
    response.extensions_mut().insert(RouteLabel(label));
    response
}

/// What a request brings besides its method, body and path.
struct Incoming {
    query: String,
    headers: HeaderMap,
    client: Option<std::net::IpAddr>,
}

async fn route_request(
    state: RegistryState,
    method: Method,
    incoming: Incoming,
    body: Body,
    name: RepositoryName,
    route: Route,
) -> (&'static str, Result<Response, RegistryError>) {
    let Incoming { query, headers, client } = incoming;
    let label = match &route {
        Route::Uploads => "/v2/{name}/blobs/uploads/",
        Route::Upload(_) => "/v2/{name}/blobs/uploads/{id}",
        Route::Blob(_) => "/v2/{name}/blobs/{digest}",
        Route::Manifest(_) => "/v2/{name}/manifests/{reference}",
        Route::Tags => "/v2/{name}/tags/list",
        Route::Referrers(_) => "/v2/{name}/referrers/{digest}",
    };
    let caller = match Caller::from_headers(&state, &headers, client).await {
        Ok(c) => c,
        Err(e) => return (label, Err(e)),
    };
    let ctx = Ctx { state, caller, name, headers, query };
    let m = &method;
    let result = match route {
        Route::Blob(d) if m == Method::GET || m == Method::HEAD => blobs::get(&ctx, &d, m == Method::HEAD).await,
        Route::Blob(d) if m == Method::DELETE => blobs::delete(&ctx, &d).await,
        Route::Uploads if m == Method::POST => uploads::start(&ctx, body).await,
        Route::Upload(id) if m == Method::PATCH => uploads::patch(&ctx, &id, body).await,
        Route::Upload(id) if m == Method::PUT => uploads::finish(&ctx, &id, body).await,
        Route::Upload(id) if m == Method::GET => uploads::status(&ctx, &id).await,
        Route::Upload(id) if m == Method::DELETE => uploads::cancel(&ctx, &id).await,
        Route::Manifest(r) if m == Method::GET || m == Method::HEAD => {
            manifests::get(&ctx, &r, m == Method::HEAD).await
        }
        Route::Manifest(r) if m == Method::PUT => manifests::put(&ctx, &r, body).await,
        Route::Manifest(r) if m == Method::DELETE => manifests::delete(&ctx, &r).await,
        Route::Tags if m == Method::GET => tags::list(&ctx).await,
        Route::Referrers(d) if m == Method::GET => referrers::list(&ctx, &d).await,
        _ => Err(RegistryError::new(ErrorCode::Unsupported, format!("{method} is not supported on this endpoint"))
            .status(StatusCode::METHOD_NOT_ALLOWED)),
    };
    (label, result)
}

/// Parses a digest from the URL or a query parameter.
pub(crate) fn digest(s: &str) -> Result<wharf_oci::Digest, RegistryError> {
    s.parse().map_err(|e: wharf_oci::DigestError| {
        RegistryError::new(ErrorCode::DigestInvalid, e.to_string()).message(format!("invalid digest: {e}"))
    })
}

/// Parses a pagination `n`: absent means the maximum; larger values are clamped.
pub(crate) fn page_size(n: Option<String>, max: u32) -> Result<u32, RegistryError> {
    match n {
        None => Ok(max),
        Some(n) => match n.parse::<i64>() {
            Ok(v) if v >= 0 => Ok(u32::try_from(v).unwrap_or(u32::MAX).min(max)),
            Ok(_) => {
                Err(RegistryError::new(ErrorCode::PaginationNumberInvalid, format!("n must not be negative (got {n})")))
            }
            Err(_) => Err(RegistryError::new(
                ErrorCode::PaginationNumberInvalid,
                format!("n must be a number (got {:?})", n.chars().take(40).collect::<String>()),
            )),
        },
    }
}

/// The `Link` header of a list with more entries after `last`.
pub(crate) fn next_link(path: &str, n: u32, last: &str) -> String {
    let last: String = url::form_urlencoded::byte_serialize(last.as_bytes()).collect();
    format!("<{path}?n={n}&last={last}>; rel=\"next\"")
}

/// A referrers index as a response (also for the `sha256-<hex>` tag of clients
/// without the referrers API); `filtered` when `artifactType` applied.
pub(crate) fn referrers_response(body: Vec<u8>, filtered: bool, head: bool) -> Response {
    let mut headers = vec![
        (header::CONTENT_TYPE, wharf_oci::manifest::OCI_INDEX.to_owned()),
        (CONTENT_DIGEST, wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, &body).to_string()),
        (header::CONTENT_LENGTH, body.len().to_string()),
    ];
    if filtered {
        headers.push((OCI_FILTERS_APPLIED, "artifactType".to_owned()));
    }
    if head {
        return empty(StatusCode::OK, headers);
    }
    let mut response = (StatusCode::OK, body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, header_value(&value));
    }
    response
}
