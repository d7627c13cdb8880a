//! Listing images: uploaded once per organization, checked from their bytes, named by digest.

use bytes::Bytes;
use wharf_api_types::MediaView;
use wharf_core::{OrgAction, TokenScope};
use wharf_db::offers::MediaRow;
use wharf_oci::Digest;
use wharf_offer::media::MAX_IMAGE_BYTES;

use crate::{Actor, App, AppError};

/// Largest accepted image side before decoding, in pixels (listing images are at most 1280×720).
const MAX_SIDE: u32 = 4096;

/// An uploaded image's bytes and media type.
#[derive(Debug, Clone)]
pub struct MediaFile {
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// The bytes.
    pub bytes: Bytes,
}

impl App {
    /// Uploads a listing image (PNG or JPEG, at most 4 MiB), checked from its bytes.
    pub async fn upload_media(&self, actor: &Actor, org: &str, body: Bytes) -> Result<MediaView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, _) = self.org_for(actor, org, OrgAction::EditOffers).await?;
        if body.len() > MAX_IMAGE_BYTES {
            return Err(AppError::field("", format!("an image may have at most {MAX_IMAGE_BYTES} bytes")));
        }
        let info = wharf_offer::media::inspect(&body).map_err(|e| AppError::field("", format!("the upload {e}")))?;
        if info.width > MAX_SIDE || info.height > MAX_SIDE {
            return Err(AppError::field(
                "",
                format!("the upload is {}×{} pixels; listing images are at most 1280×720", info.width, info.height),
            ));
        }
        let size = body.len() as u64;
        let stored = self.blobs.put_bytes(body, None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        let media = MediaRow {
            digest: stored.digest.clone(),
            media_type: info.format.media_type().to_owned(),
            width: info.width,
            height: info.height,
            size,
        };
        self.db.put_media(org.id, &media).await?;
        tracing::info!(org.name = %org.name, media.digest = %media.digest, by = %actor.name(), "listing image uploaded");
        Ok(MediaView {
            digest: media.digest.to_string(),
            media_type: media.media_type,
            width: media.width,
            height: media.height,
            size,
        })
    }

    /// An uploaded listing image.
    pub async fn media(&self, actor: &Actor, org: &str, digest: &str) -> Result<MediaFile, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::ReadOffers).await?;
        let missing = || AppError::NotFound(format!("organization {} has no image {digest}", org.name));
        let d: Digest = digest.parse().map_err(|_| missing())?;
        let m = self.db.media(org.id, &d).await?.ok_or_else(missing)?;
        let read = self.blobs.get(&d, None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        let bytes = read.bytes().await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        Ok(MediaFile { media_type: m.media_type, bytes: bytes.into() })
    }
}
