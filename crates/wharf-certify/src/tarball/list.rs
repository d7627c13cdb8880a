//! Listing an archive as the runtime reads it, data digests included (the
//! differential test's view of the reader).

use super::*;

/// One entry as listed by [`list`]: what the runtime unpacks, data digest included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The header.
    pub header: Header,
    /// SHA-256 of the data as read (holes as zeros), hex.
    pub sha256: String,
    /// Bytes of data read.
    pub bytes: u64,
}

impl Listed {
    /// One line, in the same format as the differential test's Go lister.
    pub fn line(&self) -> String {
        let h = &self.header;
        let xattrs: Vec<String> =
            h.xattrs.iter().map(|(k, v)| format!("{}={}", hex::encode(k), hex::encode(v))).collect();
        format!(
            "E {} name={} link={} size={} mode={} uid={} gid={} uname={} gname={} dev={},{} xattrs=[{}] data={} sha256={}",
            h.typeflag,
            hex::encode(&h.name),
            hex::encode(&h.linkname),
            h.size,
            h.mode,
            h.uid,
            h.gid,
            hex::encode(&h.uname),
            hex::encode(&h.gname),
            h.devmajor,
            h.devminor,
            xattrs.join(","),
            self.bytes,
            self.sha256,
        )
    }
}

/// Every entry of a tar stream with its data's digest, the ambiguities found, and
/// how the stream ended (the differential test's view of this reader).
#[derive(Debug)]
pub struct Listing {
    /// The entries read.
    pub entries: Vec<Listed>,
    /// `Err` when the archive is corrupt (after the entries listed).
    pub end: Result<(), TarError>,
}

impl Listing {
    /// The ambiguities of all entries.
    pub fn ambiguities(&self) -> impl Iterator<Item = &Ambiguity> {
        self.entries.iter().flat_map(|e| e.header.ambiguities.iter())
    }
}

/// Lists a tar stream as a runtime unpacking it reads it.
pub fn list<R: Read>(r: R) -> Listing {
    let mut reader = Reader::new(r);
    let mut entries = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        let header = match reader.next_entry() {
            Ok(Some(h)) => h,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let mut bytes = 0u64;
        let read = loop {
            match reader.read_data(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    ctx.update(&buf[..n]);
                    bytes += n as u64;
                }
                Err(e) => break Err(e),
            }
        };
        if let Err(e) = read {
            break Err(e);
        }
        entries.push(Listed { header, sha256: hex::encode(ctx.finish().as_ref()), bytes });
    };
    Listing { entries, end }
}
