//! The `/v2/…` URL grammar. Repository names contain slashes, so a path is read
//! from its end, where the distribution API's suffixes have a fixed shape:
//!
//! ```text
//! /v2/<name>/blobs/uploads/            start an upload (POST)
//! /v2/<name>/blobs/uploads/<id>        an upload session
//! /v2/<name>/blobs/<digest>            a blob
//! /v2/<name>/manifests/<reference>     a manifest, by tag or digest
//! /v2/<name>/tags/list                 the tags
//! /v2/<name>/referrers/<digest>        manifests whose subject is <digest>
//! ```

use wharf_oci::RepositoryName;

/// What a `/v2/` path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Start an upload.
    Uploads,
    /// One upload session.
    Upload(String),
    /// A blob (the digest is parsed by the handler so a bad one gets DIGEST_INVALID).
    Blob(String),
    /// A manifest by tag or digest.
    Manifest(String),
    /// The tag list.
    Tags,
    /// The referrers of a digest.
    Referrers(String),
}

/// Why a path is not a registry path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    /// No known suffix: not an endpoint.
    NotAnEndpoint,
    /// The name part breaks the grammar.
    BadName(String),
}

/// Splits the part after `/v2/` (as sent, percent-encoded) into repository name and
/// route. Segments are decoded after splitting, so an encoded `/` (`%2F`) stays
/// inside its segment instead of changing the route.
pub(crate) fn parse(tail: &str) -> Result<(RepositoryName, Route), PathError> {
    let decoded: Vec<String> =
        tail.split('/').map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let n = segments.len();
    let (name_end, route) = if n >= 4 && segments[n - 3] == "blobs" && segments[n - 2] == "uploads" {
        if segments[n - 1].is_empty() {
            (n - 3, Route::Uploads)
        } else {
            (n - 3, Route::Upload(segments[n - 1].to_owned()))
        }
    } else if n >= 3 && segments[n - 2] == "blobs" && segments[n - 1] == "uploads" {
        (n - 2, Route::Uploads)
    } else if n >= 3 && segments[n - 2] == "blobs" {
        (n - 2, Route::Blob(segments[n - 1].to_owned()))
    } else if n >= 3 && segments[n - 2] == "manifests" {
        (n - 2, Route::Manifest(segments[n - 1].to_owned()))
    } else if n >= 3 && segments[n - 2] == "tags" && segments[n - 1] == "list" {
        (n - 2, Route::Tags)
    } else if n >= 3 && segments[n - 2] == "referrers" {
        (n - 2, Route::Referrers(segments[n - 1].to_owned()))
    } else {
        return Err(PathError::NotAnEndpoint);
    };
    if let Some(bad) = segments[..name_end].iter().find(|s| s.contains('/')) {
        return Err(PathError::BadName(format!("repository name component {bad:?} contains an encoded '/'")));
    }
    let name = segments[..name_end].join("/");
    let name = name.parse::<RepositoryName>().map_err(|e| PathError::BadName(e.to_string()))?;
    Ok((name, route))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let ok = |tail: &str, name: &str, route: Route| {
            let (n, r) = parse(tail).unwrap_or_else(|e| panic!("{tail}: {e:?}"));
            assert_eq!((n.as_str(), r), (name, route), "{tail}");
        };
        ok("acme/app/blobs/uploads/", "acme/app", Route::Uploads);
        ok("acme/app/blobs/uploads", "acme/app", Route::Uploads);
        ok("acme/app/blobs/uploads/3f2a-11", "acme/app", Route::Upload("3f2a-11".into()));
        ok("acme/app/blobs/sha256:abc", "acme/app", Route::Blob("sha256:abc".into()));
        ok("acme/a/b/c/manifests/latest", "acme/a/b/c", Route::Manifest("latest".into()));
        ok("acme/blobs/manifests/v1", "acme/blobs", Route::Manifest("v1".into()));
        ok("acme/tags/tags/list", "acme/tags", Route::Tags);
        ok("acme/app/referrers/sha256:abc", "acme/app", Route::Referrers("sha256:abc".into()));
        ok("acme/app/blobs/sha256%3A..%2Fx", "acme/app", Route::Blob("sha256:../x".into()));
        ok("acme/app/manifests/v1%2E0", "acme/app", Route::Manifest("v1.0".into()));
        assert!(matches!(parse("acme/%2E%2E/app/tags/list"), Err(PathError::BadName(_))));
        assert!(
            matches!(parse("acme%2Fapp/tags/list"), Err(PathError::BadName(_))),
            "an encoded slash is not a separator"
        );
        assert_eq!(parse("acme/app"), Err(PathError::NotAnEndpoint));
        assert_eq!(parse("acme/app/tags"), Err(PathError::NotAnEndpoint));
        assert_eq!(parse("manifests/latest"), Err(PathError::NotAnEndpoint));
        for bad in ["Acme/app/tags/list", "acme//app/tags/list", "acme/../app/tags/list", "/acme/tags/list"] {
            assert!(matches!(parse(bad), Err(PathError::BadName(_))), "{bad}");
        }
        let long = format!("acme/{}/tags/list", "a".repeat(260));
        assert!(matches!(parse(&long), Err(PathError::BadName(m)) if m.contains("255")));
    }
}
