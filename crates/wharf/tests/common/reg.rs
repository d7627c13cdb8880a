//! A registry client for tests: one user and repository, holding a registry token.
#![allow(dead_code)]

use reqwest::{Method, Response};
use wharf_oci::{Algorithm, Digest};

use super::{TestApp, json};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A registry client for one user and repository, holding a registry token.
pub struct Reg<'a> {
    pub app: &'a TestApp,
    pub repo: String,
    pub auth: String,
}

impl<'a> Reg<'a> {
    pub async fn new(app: &'a TestApp, user: &str, repo: &str) -> Reg<'a> {
        Reg::with_scopes(app, user, repo, &[]).await
    }

    /// With extra scopes, as clients ask for `repository:<from>:pull` before a mount.
    pub async fn with_scopes(app: &'a TestApp, user: &str, repo: &str, extra: &[&str]) -> Reg<'a> {
        let scope = format!("repository:{repo}:pull,push,delete");
        let mut query = vec![("service", "wharf-registry"), ("scope", scope.as_str()), ("scope", "registry:catalog:*")];
        query.extend(extra.iter().map(|s| ("scope", *s)));
        let r = app
            .http
            .get(format!("{}/token", app.url))
            .query(&query)
            .basic_auth(user, Some(super::PASSWORD))
            .send()
            .await
            .unwrap();
        let (_, body) = json(r).await;
        Reg { app, repo: repo.to_owned(), auth: format!("Bearer {}", body["token"].as_str().unwrap()) }
    }

    pub fn anonymous(app: &'a TestApp, repo: &str) -> Reg<'a> {
        Reg { app, repo: repo.to_owned(), auth: String::new() }
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("/v2/") {
            format!("{}{path}", self.app.url)
        } else {
            format!("{}/v2/{}{path}", self.app.url, self.repo)
        };
        let rb = self.app.http.request(method, url);
        if self.auth.is_empty() { rb } else { rb.header("authorization", &self.auth) }
    }

    pub async fn push_blob(&self, data: &[u8]) -> Digest {
        let d = Digest::of(Algorithm::Sha256, data);
        let r =
            self.req(Method::POST, &format!("/blobs/uploads/?digest={d}")).body(data.to_vec()).send().await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        d
    }

    pub async fn put_manifest(&self, reference: &str, content_type: &str, body: &str) -> Response {
        self.req(Method::PUT, &format!("/manifests/{reference}"))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// An image manifest over freshly pushed config and layer blobs.
    pub async fn image(&self, seed: &str) -> (String, Digest) {
        let config = self.push_blob(format!("{{\"seed\":\"{seed}\"}}").as_bytes()).await;
        let layer = self.push_blob(format!("layer of {seed}").as_bytes()).await;
        let body = manifest_json(&config, &[&layer], None);
        let digest = Digest::of(Algorithm::Sha256, body.as_bytes());
        (body, digest)
    }
}

pub fn manifest_json(config: &Digest, layers: &[&Digest], subject: Option<&Digest>) -> String {
    let layers: Vec<String> = layers
        .iter()
        .map(|l| format!(r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{l}","size":1}}"#))
        .collect();
    let subject = subject
        .map(|s| format!(r#","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{s}","size":1}}"#))
        .unwrap_or_default();
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":1}},"layers":[{}]{subject}}}"#,
        layers.join(",")
    )
}

pub async fn code(r: Response) -> (u16, String) {
    let (status, body) = json(r).await;
    (status, body["errors"][0]["code"].as_str().unwrap_or_default().to_owned())
}
