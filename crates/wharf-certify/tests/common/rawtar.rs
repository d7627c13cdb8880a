//! Tar archives written by hand, byte by byte, so that tests can make what no
//! well-behaved writer makes: hostile names, repeated PAX keys, headers whose size
//! lies, GNU and V7 headers, broken checksums.

/// Header formats, told apart by their magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    /// `ustar\0` `00`: USTAR and PAX.
    Ustar,
    /// `ustar ` ` \0`: GNU.
    Gnu,
    /// No magic: V7.
    V7,
}

/// A header block for `name` of type `kind` declaring `size` bytes, mode 0644,
/// checksum set. Patch fields and call [`checksum`] again to make odd ones.
pub fn header(magic: Magic, name: &[u8], kind: u8, link: &[u8], size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
    match magic {
        Magic::Ustar => {
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
        }
        Magic::Gnu => h[257..265].copy_from_slice(b"ustar  \0"),
        Magic::V7 => {}
    }
    checksum(&mut h);
    h
}

/// Sets the checksum field from the block's bytes (unsigned sum, as writers do).
pub fn checksum(h: &mut [u8; 512]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
}

/// Sets the mode field and the checksum.
pub fn with_mode(mut h: [u8; 512], mode: u32) -> [u8; 512] {
    h[100..107].copy_from_slice(format!("{mode:07o}").as_bytes());
    checksum(&mut h);
    h
}

/// `data` padded with zeros to whole blocks.
pub fn padded(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    out.resize(data.len().div_ceil(512) * 512, 0);
    out
}

/// A USTAR entry: its header (size = the data's length), then its data padded.
pub fn entry(name: &[u8], kind: u8, link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = header(Magic::Ustar, name, kind, link, data.len() as u64).to_vec();
    out.extend(padded(data));
    out
}

/// An entry whose header declares `declared` bytes while `data` follows it (padded).
pub fn entry_declaring(name: &[u8], kind: u8, link: &[u8], declared: u64, data: &[u8]) -> Vec<u8> {
    let mut out = header(Magic::Ustar, name, kind, link, declared).to_vec();
    out.extend(padded(data));
    out
}

/// One PAX record, `"%d %s=%s\n"` with its own length.
pub fn record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut len = body + body.to_string().len();
    if (len).to_string().len() != body.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut out = len.to_string().into_bytes();
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
    assert_eq!(out.len(), len);
    out
}

/// A PAX header entry (`kind` b'x' for the next entry, b'g' global) with these records.
pub fn pax(kind: u8, records: &[(&[u8], &[u8])]) -> Vec<u8> {
    let data: Vec<u8> = records.iter().flat_map(|(k, v)| record(k, v)).collect();
    entry(b"PaxHeaders/x", kind, b"", &data)
}

/// A GNU long name (b'L') or long link (b'K') header carrying `value` (NUL added).
pub fn gnu_long(kind: u8, value: &[u8]) -> Vec<u8> {
    let mut data = value.to_vec();
    data.push(0);
    let mut out = header(Magic::Gnu, b"././@LongLink", kind, b"", data.len() as u64).to_vec();
    out.extend(padded(&data));
    out
}

/// The end-of-archive marker: two zero blocks.
pub fn end() -> Vec<u8> {
    vec![0u8; 1024]
}

/// Entries followed by the end marker.
pub fn archive(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut out = parts.concat();
    out.extend(end());
    out
}
