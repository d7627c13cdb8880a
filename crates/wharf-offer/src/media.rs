//! Listing images: icons and screenshots, checked from their bytes.

use std::io::Cursor;

/// The largest image file accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 4 * 1024 * 1024;

/// What an image is for, and so the size it must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSlot {
    /// Icon, 48×48.
    IconSmall,
    /// Icon, 90×90.
    IconMedium,
    /// Icon, 216×216.
    IconLarge,
    /// Icon, 255×115.
    IconWide,
    /// Screenshot, 1280×720.
    Screenshot,
}

impl ImageSlot {
    /// The icon slot named `small`, `medium`, `large` or `wide`.
    pub fn icon(name: &str) -> Option<ImageSlot> {
        match name {
            "small" => Some(ImageSlot::IconSmall),
            "medium" => Some(ImageSlot::IconMedium),
            "large" => Some(ImageSlot::IconLarge),
            "wide" => Some(ImageSlot::IconWide),
            _ => None,
        }
    }

    /// Width and height, in pixels.
    pub fn size(self) -> (u32, u32) {
        match self {
            ImageSlot::IconSmall => (48, 48),
            ImageSlot::IconMedium => (90, 90),
            ImageSlot::IconLarge => (216, 216),
            ImageSlot::IconWide => (255, 115),
            ImageSlot::Screenshot => (1280, 720),
        }
    }
}

/// The image formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
}

impl ImageFormat {
    /// The media type.
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
        }
    }
}

/// A checked image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// PNG or JPEG.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Checks that `bytes` are a PNG or JPEG image, whole and decodable. The format is
/// told by the bytes, never by a name or a Content-Type; the size is read from the
/// header before anything is decoded, so a header claiming 65535×65535 costs nothing.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, String> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(format!("is {} bytes; an image may have at most {MAX_IMAGE_BYTES} bytes", bytes.len()));
    }
    let format = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        ImageFormat::Png
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ImageFormat::Jpeg
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        return Err(if head.contains("<svg") || head.contains("<?xml") {
            "is an SVG (or other XML) document; only PNG and JPEG images are accepted".into()
        } else {
            "is not a PNG or JPEG image".into()
        });
    };
    let reader = |bytes| {
        let mut r = image::ImageReader::new(Cursor::new(bytes));
        r.set_format(match format {
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
        });
        r
    };
    let (width, height) = reader(bytes)
        .into_dimensions()
        .map_err(|e| format!("is not a readable {} image ({e})", format.media_type()))?;
    let info = ImageInfo { format, width, height };
    // The largest accepted image is 1280×720: anything far larger is refused unread.
    if u64::from(width) * u64::from(height) > 4 * 1280 * 720 {
        return Ok(info);
    }
    let mut r = reader(bytes);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(64 * 1024 * 1024);
    r.limits(limits);
    r.decode().map_err(|e| format!("is a damaged {} image ({e})", format.media_type()))?;
    Ok(info)
}

/// Checks an image for a slot: [`inspect`], then its exact size.
pub fn check(bytes: &[u8], slot: ImageSlot) -> Result<ImageInfo, String> {
    let info = inspect(bytes)?;
    let (w, h) = slot.size();
    if (info.width, info.height) != (w, h) {
        return Err(format!("must be {w}×{h} pixels (is {}×{})", info.width, info.height));
    }
    Ok(info)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG of the given size, encoded by the `image` crate.
    pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_are_checked_by_their_bytes() {
        assert_eq!(check(&png(48, 48), ImageSlot::IconSmall).unwrap().format, ImageFormat::Png);
        let mut jpeg = Cursor::new(Vec::new());
        image::RgbImage::new(255, 115).write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!(check(jpeg.get_ref(), ImageSlot::IconWide).unwrap().format, ImageFormat::Jpeg);
        assert_eq!(check(&png(50, 48), ImageSlot::IconSmall).unwrap_err(), "must be 48×48 pixels (is 50×48)");
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
        assert!(inspect(svg).unwrap_err().contains("SVG"));
        assert_eq!(inspect(b"GIF89a....").unwrap_err(), "is not a PNG or JPEG image");
        assert!(inspect(&vec![0u8; MAX_IMAGE_BYTES + 1]).unwrap_err().contains("at most"));
        // A truncated file: the header reads, the pixels do not.
        let whole = png(90, 90);
        assert!(inspect(&whole[..whole.len() / 2]).unwrap_err().contains("damaged"));
    }

    #[test]
    fn a_header_claiming_a_huge_image_is_refused_unread() {
        // A valid 1×1 PNG whose IHDR says 65535×65535 (CRC fixed up).
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&65535u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&65535u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let info = inspect(&bytes).unwrap();
        assert_eq!((info.width, info.height), (65535, 65535));
        assert_eq!(check(&bytes, ImageSlot::Screenshot).unwrap_err(), "must be 1280×720 pixels (is 65535×65535)");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
