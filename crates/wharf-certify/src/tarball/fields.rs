//! Header fields as Go's `archive/tar` parses them: NUL-terminated strings, octal and
//! base-256 numbers, the format told by magic and checksum, PAX records.

use super::*;

pub(super) const MAGIC_GNU: &[u8] = b"ustar ";
pub(super) const VERSION_GNU: &[u8] = b" \0";
pub(super) const MAGIC_USTAR: &[u8] = b"ustar\0";
pub(super) const TRAILER_STAR: &[u8] = b"tar\0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    V7,
    UstarPax,
    Gnu,
    Star,
}

pub(super) fn header_error(offset: u64, why: impl Into<String>) -> TarError {
    TarError::Header { offset, why: why.into() }
}

/// Go's `parser.parseString`: up to the first NUL.
pub(super) fn c_string(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// Go's `strconv.ParseUint(s, 8, 64)`.
pub(super) fn parse_octal_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        if !(b'0'..=b'7').contains(&c) {
            return None;
        }
        n = n.checked_mul(8)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// Go's `strconv.ParseInt(s, 10, 64)`: an optional sign, decimal digits, in range.
pub fn parse_decimal(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if n > 1 << 63 {
            return None;
        }
        Some((n as i64).wrapping_neg())
    } else {
        i64::try_from(n).ok()
    }
}

/// Go's `parser.parseOctal`: leading and trailing spaces and NULs trimmed.
pub(super) fn parse_octal(b: &[u8]) -> Result<i64, ()> {
    let start = b.iter().position(|&c| c != b' ' && c != 0);
    let Some(start) = start else { return Ok(0) };
    let end = b.iter().rposition(|&c| c != b' ' && c != 0).map_or(start, |e| e + 1);
    let s = c_string(&b[start..end]);
    parse_octal_digits(s).map(|x| x as i64).ok_or(())
}

/// Go's `parser.parseNumeric`: base-256 when the first bit is set, else octal.
pub(super) fn parse_numeric(b: &[u8]) -> Result<i64, ()> {
    if b.first().is_some_and(|&c| c & 0x80 != 0) {
        let inv: u8 = if b[0] & 0x40 != 0 { 0xff } else { 0 };
        let mut x: u64 = 0;
        for (i, &c) in b.iter().enumerate() {
            let mut c = c ^ inv;
            if i == 0 {
                c &= 0x7f;
            }
            if x >> 56 > 0 {
                return Err(());
            }
            x = (x << 8) | u64::from(c);
        }
        if x >> 63 > 0 {
            return Err(());
        }
        return Ok(if inv == 0xff { !(x as i64) } else { x as i64 });
    }
    parse_octal(b)
}

/// Numeric fields parsed one after another; the first failure is remembered (Go's
/// `parser.err`).
#[derive(Default)]
pub(super) struct Fields {
    pub(super) failed: Option<&'static str>,
}

impl Fields {
    pub(super) fn numeric(&mut self, b: &[u8], what: &'static str) -> i64 {
        parse_numeric(b).unwrap_or_else(|()| {
            self.failed.get_or_insert(what);
            0
        })
    }
}

/// Go's `parsePAXTime`: only whether it parses matters here.
pub(super) fn valid_pax_time(v: &[u8]) -> bool {
    let (secs, frac) = match memchr::memchr(b'.', v) {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &v[v.len()..]),
    };
    parse_decimal(secs).is_some() && frac.iter().all(u8::is_ascii_digit)
}

pub(super) fn is_ascii_c(s: &[u8]) -> bool {
    s.iter().all(|&c| c != 0 && c < 0x80)
}

pub(super) fn checksums(b: &[u8; BLOCK]) -> (i64, i64) {
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, &c) in b.iter().enumerate() {
        let c = if (148..156).contains(&i) { b' ' } else { c };
        unsigned += i64::from(c);
        signed += i64::from(c as i8);
    }
    (unsigned, signed)
}

/// Go's `block.getFormat`: `None` when the checksum does not match.
pub(super) fn format_of(b: &[u8; BLOCK]) -> Option<Format> {
    let value = parse_octal(&b[148..156]).ok()?;
    let (unsigned, signed) = checksums(b);
    if value != unsigned && value != signed {
        return None;
    }
    let magic = &b[257..263];
    let version = &b[263..265];
    let trailer = &b[508..512];
    Some(if magic == MAGIC_USTAR && trailer == TRAILER_STAR {
        Format::Star
    } else if magic == MAGIC_USTAR {
        Format::UstarPax
    } else if magic == MAGIC_GNU && version == VERSION_GNU {
        Format::Gnu
    } else {
        Format::V7
    })
}

/// Go's `parsePAXRecord` for one record of `s`: (key, value, rest).
pub(super) fn pax_record(s: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let sp = memchr::memchr(b' ', s)?;
    let (n_str, rest) = (&s[..sp], &s[sp + 1..]);
    let n = parse_decimal(n_str)?;
    if n < 5 || n > s.len() as i64 {
        return None;
    }
    let n = n - (n_str.len() as i64 + 1);
    if n <= 0 {
        return None;
    }
    let n = n as usize;
    let (rec, nl, rem) = (&rest[..n - 1], rest[n - 1], &rest[n..]);
    if nl != b'\n' {
        return None;
    }
    let eq = memchr::memchr(b'=', rec)?;
    let (k, v) = (&rec[..eq], &rec[eq + 1..]);
    if k.is_empty() {
        return None;
    }
    let nul_checked: &[u8] = if matches!(k, b"path" | b"linkpath" | b"uname" | b"gname") { v } else { k };
    if nul_checked.contains(&0) {
        return None;
    }
    Some((k, v, rem))
}

pub(super) const SPARSE_OFFSET: &[u8] = b"GNU.sparse.offset";
pub(super) const SPARSE_NUMBYTES: &[u8] = b"GNU.sparse.numbytes";
pub(super) const SPARSE_MAP: &[u8] = b"GNU.sparse.map";

pub(super) fn show(b: &[u8]) -> String {
    crate::layer::escape(b)
}

/// Go's `parsePAX`, with repeated keys noted: the records (last value wins) and the
/// keys given more than once, with their first and last values.
#[allow(clippy::type_complexity)]
pub(super) fn parse_pax(
    buf: &[u8],
    offset: u64,
) -> Result<(BTreeMap<Vec<u8>, Vec<u8>>, Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>), TarError> {
    let mut records: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut repeated: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = Vec::new();
    let mut sparse_map: Vec<&[u8]> = Vec::new();
    let mut s = buf;
    while !s.is_empty() {
        let Some((k, v, rest)) = pax_record(s) else {
            return Err(header_error(offset, "a PAX record is malformed"));
        };
        s = rest;
        if k == SPARSE_OFFSET || k == SPARSE_NUMBYTES {
            let expect = if sparse_map.len().is_multiple_of(2) { SPARSE_OFFSET } else { SPARSE_NUMBYTES };
            if k != expect || v.contains(&b',') {
                return Err(header_error(offset, "GNU sparse 0.0 records are out of order"));
            }
            sparse_map.push(v);
            continue;
        }
        if let Some(old) = records.insert(k.to_vec(), v.to_vec()) {
            match repeated.iter_mut().find(|(key, _, _)| key == k) {
                Some(r) => r.2 = v.to_vec(),
                None => repeated.push((k.to_vec(), old, v.to_vec())),
            }
        }
    }
    if !sparse_map.is_empty() {
        records.insert(SPARSE_MAP.to_vec(), sparse_map.join(&b","[..]));
    }
    Ok((records, repeated))
}

/// PAX keys that change how an entry is read or unpacked.
pub(super) fn pax_key_matters(k: &[u8]) -> bool {
    matches!(k, b"path" | b"linkpath" | b"size" | b"uid" | b"gid" | b"uname" | b"gname")
        || k.starts_with(b"SCHILY.xattr.")
        || k.starts_with(b"GNU.sparse.")
        || k.starts_with(b"LIBARCHIVE.xattr.")
}

/// Go's `mergePAX`.
pub(super) fn merge_pax(hdr: &mut Header, records: &BTreeMap<Vec<u8>, Vec<u8>>, offset: u64) -> Result<(), TarError> {
    for (k, v) in records {
        if v.is_empty() {
            continue; // the header's own value stays
        }
        let ok = match k.as_slice() {
            b"path" => {
                hdr.name = v.clone();
                true
            }
            b"linkpath" => {
                hdr.linkname = v.clone();
                true
            }
            b"uname" => {
                hdr.uname = v.clone();
                true
            }
            b"gname" => {
                hdr.gname = v.clone();
                true
            }
            b"uid" => parse_decimal(v).map(|n| hdr.uid = n).is_some(),
            b"gid" => parse_decimal(v).map(|n| hdr.gid = n).is_some(),
            b"size" => parse_decimal(v).map(|n| hdr.size = n).is_some(),
            b"atime" | b"mtime" | b"ctime" => valid_pax_time(v),
            _ => {
                if let Some(name) = k.strip_prefix(b"SCHILY.xattr.") {
                    hdr.xattrs.insert(name.to_vec(), v.clone());
                }
                true
            }
        };
        if !ok {
            return Err(header_error(offset, format!("the PAX record {} is not a number", show(k))));
        }
    }
    hdr.pax = records.clone();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_as_go_parses_them() {
        assert_eq!(parse_numeric(b"0000644\0"), Ok(0o644));
        assert_eq!(parse_numeric(b"  644  \0"), Ok(0o644));
        assert_eq!(parse_numeric(b"\0\0\0\0"), Ok(0));
        assert_eq!(parse_numeric(b"12\0xy"), Ok(0o12));
        assert_eq!(parse_numeric(b"1 2"), Err(()));
        assert_eq!(parse_numeric(b"8"), Err(()));
        assert_eq!(parse_numeric(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Ok(256));
        assert_eq!(parse_numeric(&[0xff; 8]), Ok(-1));
        assert_eq!(parse_decimal(b"+12"), Some(12));
        assert_eq!(parse_decimal(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_decimal(b"9223372036854775808"), None);
        assert_eq!(parse_decimal(b"+"), None);
        assert_eq!(parse_decimal(b"1_0"), None);
        assert!(valid_pax_time(b"1.5") && valid_pax_time(b"-1") && valid_pax_time(b"1."));
        assert!(!valid_pax_time(b".5") && !valid_pax_time(b"1.5x"));
    }

    #[test]
    fn pax_records_parse_as_go_parses_them() {
        assert_eq!(pax_record(b"11 path=ab\nrest"), Some((&b"path"[..], &b"ab"[..], &b"rest"[..])));
        assert_eq!(pax_record(b"12 path=ab\n"), None);
        assert_eq!(pax_record(b"11 path=a\0\n"), None);
        assert_eq!(pax_record(b"11 =path=\n"), None);
        let (records, repeated) = parse_pax(b"11 path=ab\n11 path=cd\n", 0).unwrap();
        assert_eq!(records[&b"path"[..]], b"cd");
        assert_eq!(repeated, [(b"path".to_vec(), b"ab".to_vec(), b"cd".to_vec())]);
    }
}
