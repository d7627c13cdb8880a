//! Tar streams read the way container runtimes read them.
//!
//! containerd, Docker, CRI-O and Podman unpack layers with Go's `archive/tar` (or
//! tar-split, a fork of it). A certifier that parses the same bytes differently
//! certifies a file system the runtime never creates: a PAX header repeating `path`,
//! or a directory header whose size field hides the next header inside "data", gives
//! one reader a harmless file and another `../../tmp/x` or a setuid shell. So this
//! reader follows `archive/tar` (Go 1.19, `reader.go`) step by step, in the same
//! order and with the same errors: header formats (V7, USTAR, PAX, GNU, STAR) told by
//! magic and checksum (unsigned or signed), numeric fields in octal or base-256, PAX
//! records (last value wins), GNU long names and links, the pre-Go 1.8 GNU prefix
//! fallback, header-only types that carry no data whatever their size field says,
//! and the three GNU sparse formats. Each entry's data is read through it, holes as
//! zeros, as the runtime writes them.
//!
//! Where the format lets readers disagree, the entry carries an [`Ambiguity`] with
//! both readings, and the certifier refuses the layer (`layer.ambiguous`): a
//! runtime built on another reader would unpack something else. The differential
//! test (`tests/differential.rs`) runs Go's own reader over crafted archives, the
//! fuzzing corpus and generated archives, and checks that this one lists the same
//! entries or calls the archive ambiguous or corrupt.
//!
//! Memory is bounded: PAX headers and GNU long names are read up to 1 MiB (as Go
//! does) and never further; GNU sparse maps up to the same size.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};

/// Size of a tar block.
pub const BLOCK: usize = 512;

/// Largest PAX header, GNU long name or long link, and GNU sparse map: 1 MiB, as
/// Go's `archive/tar` and libarchive allow.
pub const MAX_SPECIAL: usize = 1 << 20;

/// Typeflags (POSIX, GNU).
pub mod typeflag {
    /// Regular file.
    pub const REG: u8 = b'0';
    /// Regular file, old style (NUL); a trailing `/` makes it a directory.
    pub const REG_A: u8 = 0;
    /// Hard link.
    pub const LINK: u8 = b'1';
    /// Symbolic link.
    pub const SYMLINK: u8 = b'2';
    /// Character device.
    pub const CHAR: u8 = b'3';
    /// Block device.
    pub const BLOCK: u8 = b'4';
    /// Directory.
    pub const DIR: u8 = b'5';
    /// FIFO.
    pub const FIFO: u8 = b'6';
    /// Contiguous file (a regular file to every reader).
    pub const CONT: u8 = b'7';
    /// PAX extended header for the next entry.
    pub const X_HEADER: u8 = b'x';
    /// PAX global extended header.
    pub const X_GLOBAL: u8 = b'g';
    /// GNU old sparse file.
    pub const GNU_SPARSE: u8 = b'S';
    /// GNU long name for the next entry.
    pub const GNU_LONG_NAME: u8 = b'L';
    /// GNU long link target for the next entry.
    pub const GNU_LONG_LINK: u8 = b'K';
}

/// Types that have no data, whatever their size field says (Go's `isHeaderOnlyType`).
pub fn is_header_only(flag: u8) -> bool {
    matches!(
        flag,
        typeflag::LINK | typeflag::SYMLINK | typeflag::CHAR | typeflag::BLOCK | typeflag::DIR | typeflag::FIFO
    )
}

/// Why an archive cannot be read; the runtime's reader fails on it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TarError {
    /// A header is invalid (Go: `archive/tar: invalid tar header`).
    Header {
        /// Offset of the header block in the uncompressed stream.
        offset: u64,
        /// What is wrong with it.
        why: String,
    },
    /// A PAX header, GNU long name or sparse map is larger than [`MAX_SPECIAL`].
    TooLong {
        /// Offset of its header block.
        offset: u64,
        /// What it is.
        what: &'static str,
    },
    /// The stream ends inside an entry or a header.
    Truncated {
        /// Where the stream ended.
        offset: u64,
    },
    /// A sparse file's map asks for more data than the entry has.
    SparseMissingData {
        /// Offset of the entry's header.
        offset: u64,
    },
    /// A sparse file's entry has data its map never uses.
    SparseUnreferencedData {
        /// Offset of the entry's header.
        offset: u64,
    },
    /// The underlying stream failed (decompression, a limit, I/O).
    Io {
        /// The error's kind.
        kind: io::ErrorKind,
        /// Its text.
        message: String,
    },
}

impl fmt::Display for TarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TarError::Header { offset, why } => write!(f, "invalid tar header at offset {offset}: {why}"),
            TarError::TooLong { offset, what } => {
                write!(f, "{what} at offset {offset} is longer than {MAX_SPECIAL} bytes")
            }
            TarError::Truncated { offset } => write!(f, "the archive ends unexpectedly at offset {offset}"),
            TarError::SparseMissingData { offset } => {
                write!(f, "the sparse file at offset {offset} references data the archive does not have")
            }
            TarError::SparseUnreferencedData { offset } => {
                write!(f, "the sparse file at offset {offset} has data its map does not reference")
            }
            TarError::Io { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for TarError {}

impl From<TarError> for io::Error {
    fn from(e: TarError) -> io::Error {
        match &e {
            TarError::Io { kind, message } => io::Error::new(*kind, message.clone()),
            _ => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

/// A construct that readers read differently: the runtime's reading (Go's
/// `archive/tar`, which this reader follows) and the other one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguity {
    /// Offset of the header block concerned in the uncompressed stream.
    pub offset: u64,
    /// The construct.
    pub what: String,
    /// How Go's `archive/tar` (containerd, Docker, CRI-O, Podman) reads it.
    pub runtime: String,
    /// How another reader reads it (the `tar` crate, or GNU tar, libarchive and Python's
    /// tarfile, depending on the construct).
    pub other: String,
}

/// One entry as the runtime reads it (Go's `tar.Header`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// Offset of the entry's first header block (its PAX or GNU headers included).
    pub offset: u64,
    /// The type.
    pub typeflag: u8,
    /// The name, as bytes.
    pub name: Vec<u8>,
    /// The link target, as bytes.
    pub linkname: Vec<u8>,
    /// Logical size (for header-only types, what the field says; they have no data).
    pub size: i64,
    /// The mode field (permission bits and maybe more).
    pub mode: i64,
    /// Owner.
    pub uid: i64,
    /// Group.
    pub gid: i64,
    /// Owner's name.
    pub uname: Vec<u8>,
    /// Group's name.
    pub gname: Vec<u8>,
    /// Device major number.
    pub devmajor: i64,
    /// Device minor number.
    pub devminor: i64,
    /// Extended attributes (PAX `SCHILY.xattr.*` records).
    pub xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The PAX records that applied.
    pub pax: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Whether the data is sparse (read with holes as zeros).
    pub sparse: bool,
    /// Where readers disagree about this entry.
    pub ambiguities: Vec<Ambiguity>,
}

/// The current entry's data.
#[derive(Debug)]
enum Data {
    /// `nb` physical bytes left.
    Regular { nb: u64 },
    /// A sparse file: `holes` (offset, length) normalized as Go's `sparseHoles`, the
    /// last one possibly empty and marking the logical end.
    Sparse { nb: u64, holes: Vec<(i64, i64)>, first: usize, pos: i64, header: u64, pending: Option<TarError> },
}

impl Data {
    fn physical_remaining(&self) -> u64 {
        match self {
            Data::Regular { nb } | Data::Sparse { nb, .. } => *nb,
        }
    }
}

/// What a full read found.
enum Full {
    Yes,
    /// End of stream before the first byte.
    Eof,
    /// End of stream after some bytes.
    Partial,
}

/// Reads a tar stream entry by entry, as Go's `archive/tar` does.
pub struct Reader<R> {
    r: R,
    pos: u64,
    pad: u64,
    data: Data,
    blk: Box<[u8; BLOCK]>,
    err: Option<TarError>,
}

impl<R> fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader").field("pos", &self.pos).field("err", &self.err).finish()
    }
}

const MAGIC_GNU: &[u8] = b"ustar ";
const VERSION_GNU: &[u8] = b" \0";
const MAGIC_USTAR: &[u8] = b"ustar\0";
const TRAILER_STAR: &[u8] = b"tar\0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    V7,
    UstarPax,
    Gnu,
    Star,
}

fn header_error(offset: u64, why: impl Into<String>) -> TarError {
    TarError::Header { offset, why: why.into() }
}

/// Go's `parser.parseString`: up to the first NUL.
fn c_string(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// Go's `strconv.ParseUint(s, 8, 64)`.
fn parse_octal_digits(s: &[u8]) -> Option<u64> {
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
fn parse_octal(b: &[u8]) -> Result<i64, ()> {
    let start = b.iter().position(|&c| c != b' ' && c != 0);
    let Some(start) = start else { return Ok(0) };
    let end = b.iter().rposition(|&c| c != b' ' && c != 0).map_or(start, |e| e + 1);
    let s = c_string(&b[start..end]);
    parse_octal_digits(s).map(|x| x as i64).ok_or(())
}

/// Go's `parser.parseNumeric`: base-256 when the first bit is set, else octal.
fn parse_numeric(b: &[u8]) -> Result<i64, ()> {
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
struct Fields {
    failed: Option<&'static str>,
}

impl Fields {
    fn numeric(&mut self, b: &[u8], what: &'static str) -> i64 {
        parse_numeric(b).unwrap_or_else(|()| {
            self.failed.get_or_insert(what);
            0
        })
    }
}

/// Go's `parsePAXTime`: only whether it parses matters here.
fn valid_pax_time(v: &[u8]) -> bool {
    let (secs, frac) = match memchr::memchr(b'.', v) {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &v[v.len()..]),
    };
    parse_decimal(secs).is_some() && frac.iter().all(u8::is_ascii_digit)
}

fn is_ascii_c(s: &[u8]) -> bool {
    s.iter().all(|&c| c != 0 && c < 0x80)
}

fn checksums(b: &[u8; BLOCK]) -> (i64, i64) {
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, &c) in b.iter().enumerate() {
        let c = if (148..156).contains(&i) { b' ' } else { c };
        unsigned += i64::from(c);
        signed += i64::from(c as i8);
    }
    (unsigned, signed)
}

/// Go's `block.getFormat`: `None` when the checksum does not match.
fn format_of(b: &[u8; BLOCK]) -> Option<Format> {
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
fn pax_record(s: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
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

const SPARSE_OFFSET: &[u8] = b"GNU.sparse.offset";
const SPARSE_NUMBYTES: &[u8] = b"GNU.sparse.numbytes";
const SPARSE_MAP: &[u8] = b"GNU.sparse.map";

fn show(b: &[u8]) -> String {
    crate::layer::escape(b)
}

/// Go's `parsePAX`, with repeated keys noted: the records (last value wins) and the
/// keys given more than once, with their first and last values.
#[allow(clippy::type_complexity)]
fn parse_pax(
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
fn pax_key_matters(k: &[u8]) -> bool {
    matches!(k, b"path" | b"linkpath" | b"size" | b"uid" | b"gid" | b"uname" | b"gname")
        || k.starts_with(b"SCHILY.xattr.")
        || k.starts_with(b"GNU.sparse.")
        || k.starts_with(b"LIBARCHIVE.xattr.")
}

impl<R: Read> Reader<R> {
    /// A reader of the tar stream `r` (already decompressed).
    pub fn new(r: R) -> Reader<R> {
        Reader { r, pos: 0, pad: 0, data: Data::Regular { nb: 0 }, blk: Box::new([0; BLOCK]), err: None }
    }

    /// Bytes of the stream consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The inner stream.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.r
    }

    fn io_error(e: io::Error) -> TarError {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<TarError>()) {
            Some(t) => t.clone(),
            None => TarError::Io { kind: e.kind(), message: e.to_string() },
        }
    }

    /// One `read` of the raw stream.
    fn raw_read(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        loop {
            match self.r.read(buf) {
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Self::io_error(e)),
            }
        }
    }

    /// Fills `buf` from the raw stream (Go's `io.ReadFull`).
    fn raw_full(&mut self, buf: &mut [u8]) -> Result<Full, TarError> {
        let mut got = 0;
        while got < buf.len() {
            let n = self.raw_read(&mut buf[got..])?;
            if n == 0 {
                return Ok(if got == 0 { Full::Eof } else { Full::Partial });
            }
            got += n;
        }
        Ok(Full::Yes)
    }

    fn read_block(&mut self) -> Result<Full, TarError> {
        let mut blk = std::mem::replace(&mut self.blk, Box::new([0; BLOCK]));
        let r = self.raw_full(&mut blk[..]);
        self.blk = blk;
        r
    }

    /// Skips `n` raw bytes (Go's `discard`).
    fn discard(&mut self, mut n: u64) -> Result<(), TarError> {
        let mut scratch = [0u8; 8192];
        while n > 0 {
            let want = n.min(scratch.len() as u64) as usize;
            let got = self.raw_read(&mut scratch[..want])?;
            if got == 0 {
                return Err(TarError::Truncated { offset: self.pos });
            }
            n -= got as u64;
        }
        Ok(())
    }

    /// Reads the current entry's physical data (Go's `regFileReader`).
    fn read_physical(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        let nb = self.data.physical_remaining();
        let want = (buf.len() as u64).min(nb) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.raw_read(&mut buf[..want])?;
        if n == 0 {
            return Err(TarError::Truncated { offset: self.pos });
        }
        match &mut self.data {
            Data::Regular { nb } | Data::Sparse { nb, .. } => *nb -= n as u64,
        }
        Ok(n)
    }

    /// Reads a special entry's data, at most [`MAX_SPECIAL`] bytes (Go's `readSpecialFile`).
    fn read_special(&mut self, offset: u64, what: &'static str) -> Result<Vec<u8>, TarError> {
        let nb = self.data.physical_remaining();
        if nb > MAX_SPECIAL as u64 {
            return Err(TarError::TooLong { offset, what });
        }
        let mut buf = vec![0u8; nb as usize];
        let mut got = 0;
        while got < buf.len() {
            got += self.read_physical(&mut buf[got..])?;
        }
        Ok(buf)
    }

    /// Sets up the data of an entry whose header says `size` (Go's `handleRegularFile`).
    fn set_regular(&mut self, flag: u8, size: i64, offset: u64) -> Result<(), TarError> {
        let nb = if is_header_only(flag) { 0 } else { size };
        if nb < 0 {
            return Err(header_error(offset, format!("negative size {nb}")));
        }
        let nb = nb as u64;
        self.pad = nb.wrapping_neg() & (BLOCK as u64 - 1);
        self.data = Data::Regular { nb };
        Ok(())
    }

    /// The next entry, or `None` at the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<Header>, TarError> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        let r = self.next_inner();
        if let Err(e) = &r {
            self.err = Some(e.clone());
        }
        r
    }

    fn next_inner(&mut self) -> Result<Option<Header>, TarError> {
        let mut pax: Option<BTreeMap<Vec<u8>, Vec<u8>>> = None;
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut ambiguities = Vec::new();
        // Meta headers seen for this entry, for the ambiguity checks: (kind, offset).
        let mut metas: Vec<(u8, u64)> = Vec::new();
        let mut first_offset = None;
        loop {
            // The rest of the previous entry and its padding.
            let rest = self.data.physical_remaining();
            self.discard(rest)?;
            let pad = std::mem::take(&mut self.pad) as usize;
            let mut padding = [0u8; BLOCK];
            match self.raw_full(&mut padding[..pad])? {
                Full::Yes => {}
                // Go's tryReadFull: the stream ending inside the padding ends the archive.
                Full::Eof | Full::Partial => return Ok(None),
            }
            let offset = self.pos;
            first_offset.get_or_insert(offset);
            let Some((mut hdr, format)) = self.read_header(offset)? else { return Ok(None) };
            self.set_regular(hdr.typeflag, hdr.size, offset)?;
            let meta = matches!(
                hdr.typeflag,
                typeflag::X_HEADER | typeflag::X_GLOBAL | typeflag::GNU_LONG_NAME | typeflag::GNU_LONG_LINK
            );
            if meta && format.format == Format::V7 {
                let kind = if matches!(hdr.typeflag, typeflag::X_HEADER | typeflag::X_GLOBAL) {
                    "PAX"
                } else {
                    "GNU long name or link"
                };
                ambiguities.push(Ambiguity {
                    offset,
                    what: format!("a {kind} header without the USTAR or GNU magic (a V7 header)"),
                    runtime: "an extension header, applied".to_owned(),
                    other: "an entry of its own, not applied (the tar crate honours extensions only in USTAR and GNU headers)"
                        .to_owned(),
                });
            }
            match hdr.typeflag {
                typeflag::X_HEADER | typeflag::X_GLOBAL => {
                    let buf = self.read_special(offset, "a PAX extended header")?;
                    let (records, repeated) = parse_pax(&buf, offset)?;
                    for (k, first, last) in repeated.into_iter().filter(|(k, _, _)| pax_key_matters(k)) {
                        ambiguities.push(Ambiguity {
                            offset,
                            what: format!("a PAX header gives `{}` more than once", show(&k)),
                            runtime: format!("the last value, {}", show(&last)),
                            other: format!("the first value, {}", show(&first)),
                        });
                    }
                    if hdr.typeflag == typeflag::X_GLOBAL {
                        if let Some((kind, at)) = metas.last() {
                            ambiguities.push(discarded(*kind, *at, offset));
                        }
                        let keys: Vec<String> =
                            records.keys().filter(|k| pax_key_matters(k)).map(|k| show(k)).collect();
                        if !keys.is_empty() {
                            ambiguities.push(Ambiguity {
                                offset,
                                what: format!("a PAX global header sets {}", keys.join(", ")),
                                runtime: "ignored: it applies to no entry".to_owned(),
                                other: "applied to every entry that follows".to_owned(),
                            });
                        }
                        let mut global =
                            Header { offset, typeflag: typeflag::X_GLOBAL, name: hdr.name, ..Header::default() };
                        // Go merges the records into the global header and ignores errors.
                        let mut scratch = global.clone();
                        let _ = merge_pax(&mut scratch, &records, offset);
                        global.name = scratch.name;
                        global.xattrs = scratch.xattrs;
                        global.pax = records;
                        global.ambiguities = ambiguities;
                        return Ok(Some(global));
                    }
                    if metas.iter().any(|(k, _)| *k == typeflag::X_HEADER) {
                        ambiguities.push(Ambiguity {
                            offset,
                            what: "two PAX extended headers for one entry".to_owned(),
                            runtime: "the second replaces the first".to_owned(),
                            other: "the records of both apply, or the first".to_owned(),
                        });
                    }
                    metas.push((typeflag::X_HEADER, offset));
                    pax = Some(records);
                }
                typeflag::GNU_LONG_NAME | typeflag::GNU_LONG_LINK => {
                    let what =
                        if hdr.typeflag == typeflag::GNU_LONG_NAME { "a GNU long name" } else { "a GNU long link" };
                    let buf = self.read_special(offset, what)?;
                    let value = c_string(&buf).to_vec();
                    // GNU tar ends the value with one NUL; anything more after it, even more
                    // NULs, is read differently (the tar crate drops only one).
                    if buf.len() > value.len() + 1 {
                        ambiguities.push(Ambiguity {
                            offset,
                            what: format!("{what} has bytes after a NUL"),
                            runtime: format!("up to the NUL: {}", show(&value)),
                            other: format!("the whole record: {}", show(&buf)),
                        });
                    }
                    if value.is_empty() {
                        ambiguities.push(Ambiguity {
                            offset,
                            what: format!("{what} is empty"),
                            runtime: "ignored: the header's own value stays".to_owned(),
                            other: "applied: the value is empty".to_owned(),
                        });
                    }
                    if metas.iter().any(|(k, _)| *k == hdr.typeflag) {
                        ambiguities.push(Ambiguity {
                            offset,
                            what: format!(
                                "two GNU {} headers for one entry",
                                if hdr.typeflag == typeflag::GNU_LONG_NAME { "long name" } else { "long link" }
                            ),
                            runtime: "the last one".to_owned(),
                            other: "the first one, or an error".to_owned(),
                        });
                    }
                    metas.push((hdr.typeflag, offset));
                    if hdr.typeflag == typeflag::GNU_LONG_NAME {
                        long_name = Some(value);
                    } else {
                        long_link = Some(value);
                    }
                }
                _ => {
                    let entry_offset = first_offset.unwrap_or(offset);
                    let records = pax.unwrap_or_default();
                    for k in records.iter().filter(|(k, v)| v.is_empty() && pax_key_matters(k)).map(|(k, _)| k) {
                        ambiguities.push(Ambiguity {
                            offset,
                            what: format!("a PAX record gives `{}` an empty value", show(k)),
                            runtime: "ignored: the header's own value stays".to_owned(),
                            other: "applied: the value is empty (the tar crate)".to_owned(),
                        });
                    }
                    merge_pax(&mut hdr, &records, offset)?;
                    // GNU long names apply after PAX records (Go's order).
                    for (value, pax_key, field, what) in [
                        (&long_name, &b"path"[..], &mut hdr.name, "name"),
                        (&long_link, &b"linkpath"[..], &mut hdr.linkname, "link target"),
                    ] {
                        let Some(value) = value.as_ref().filter(|v| !v.is_empty()) else { continue };
                        if let Some(p) = records.get(pax_key).filter(|p| !p.is_empty() && *p != value) {
                            ambiguities.push(Ambiguity {
                                offset,
                                what: format!("both a PAX record and a GNU header give the entry's {what}"),
                                runtime: format!("the GNU header's: {}", show(value)),
                                other: format!("the PAX record's: {}", show(p)),
                            });
                        }
                        *field = value.clone();
                    }
                    if hdr.typeflag == typeflag::REG_A {
                        hdr.typeflag = if hdr.name.ends_with(b"/") { typeflag::DIR } else { typeflag::REG };
                        if hdr.typeflag == typeflag::DIR {
                            ambiguities.push(Ambiguity {
                                offset,
                                what: "an old-style entry (type NUL) whose name ends with '/'".to_owned(),
                                runtime: "a directory".to_owned(),
                                other: "a regular file (the tar crate)".to_owned(),
                            });
                        }
                    }
                    self.set_regular(hdr.typeflag, hdr.size, offset)?;
                    if is_header_only(hdr.typeflag) && hdr.size != 0 {
                        let skip = (hdr.size.max(0) as u64).div_ceil(BLOCK as u64) * BLOCK as u64;
                        ambiguities.push(Ambiguity {
                            offset,
                            what: format!("a {} header declares {} bytes of data", kind_name(hdr.typeflag), hdr.size),
                            runtime: format!("no data: the next header is at offset {}", offset + BLOCK as u64),
                            other: format!(
                                "{} bytes of data skipped: the next header is at offset {}",
                                hdr.size,
                                offset + BLOCK as u64 + skip
                            ),
                        });
                    }
                    // The pre-Go 1.8 GNU prefix, when the name still comes from the header.
                    let renamed = long_name.as_ref().is_some_and(|v| !v.is_empty())
                        || records.get(&b"path"[..]).is_some_and(|v| !v.is_empty());
                    if let Some(prefix) = format.gnu_prefix.as_ref().filter(|_| !renamed) {
                        let bare = hdr.name.get(prefix.len() + 1..).unwrap_or_default();
                        ambiguities.push(Ambiguity {
                            offset,
                            what: "a GNU header whose access and change time fields are not numbers".to_owned(),
                            runtime: format!(
                                "they are a name prefix (pre-Go 1.8 archives): the name is {}",
                                show(&hdr.name)
                            ),
                            other: format!("GNU headers have no prefix: the name is {}", show(bare)),
                        });
                    }
                    self.handle_sparse(&mut hdr, format.format, offset)?;
                    hdr.offset = entry_offset;
                    ambiguities.append(&mut hdr.ambiguities);
                    hdr.ambiguities = ambiguities;
                    return Ok(Some(hdr));
                }
            }
        }
    }

    /// Go's `readHeader`: `None` at the end of the archive.
    fn read_header(&mut self, offset: u64) -> Result<Option<(Header, HeaderFormat)>, TarError> {
        match self.read_block()? {
            Full::Yes => {}
            Full::Eof => return Ok(None),
            Full::Partial => return Err(TarError::Truncated { offset: self.pos }),
        }
        if self.blk.iter().all(|&b| b == 0) {
            match self.read_block()? {
                Full::Yes => {}
                Full::Eof => return Ok(None),
                Full::Partial => return Err(TarError::Truncated { offset: self.pos }),
            }
            if self.blk.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            return Err(header_error(offset, "a zero block followed by a non-zero block"));
        }
        let b = &*self.blk;
        let Some(format) = format_of(b) else {
            return Err(header_error(offset, "the checksum does not match (not a tar header)"));
        };
        let mut p = Fields::default();
        let mut hdr = Header {
            typeflag: b[156],
            name: c_string(&b[0..100]).to_vec(),
            linkname: c_string(&b[157..257]).to_vec(),
            size: p.numeric(&b[124..136], "size"),
            mode: p.numeric(&b[100..108], "mode"),
            uid: p.numeric(&b[108..116], "uid"),
            gid: p.numeric(&b[116..124], "gid"),
            ..Header::default()
        };
        p.numeric(&b[136..148], "mtime");
        let mut out = HeaderFormat { format, gnu_prefix: None };
        if format != Format::V7 {
            hdr.uname = c_string(&b[265..297]).to_vec();
            hdr.gname = c_string(&b[297..329]).to_vec();
            hdr.devmajor = p.numeric(&b[329..337], "devmajor");
            hdr.devminor = p.numeric(&b[337..345], "devminor");
            let mut prefix: &[u8] = &[];
            match format {
                Format::UstarPax => prefix = c_string(&b[345..500]),
                Format::Star => {
                    prefix = c_string(&b[345..476]);
                    p.numeric(&b[476..488], "atime");
                    p.numeric(&b[488..500], "ctime");
                }
                Format::Gnu => {
                    let mut p2 = Fields::default();
                    if b[345] != 0 {
                        p2.numeric(&b[345..357], "atime");
                    }
                    if b[357] != 0 {
                        p2.numeric(&b[357..369], "ctime");
                    }
                    if p2.failed.is_some() {
                        let s = c_string(&b[345..500]);
                        if is_ascii_c(s) {
                            prefix = s;
                            if !s.is_empty() {
                                out.gnu_prefix = Some(s.to_vec());
                            }
                        }
                    }
                }
                Format::V7 => {}
            }
            if !prefix.is_empty() {
                let mut name = prefix.to_vec();
                name.push(b'/');
                name.extend_from_slice(&hdr.name);
                hdr.name = name;
            }
        }
        if let Some(what) = p.failed {
            return Err(header_error(offset, format!("the {what} field is not a number")));
        }
        Ok(Some((hdr, out)))
    }

    /// Go's `handleSparseFile`.
    fn handle_sparse(&mut self, hdr: &mut Header, format: Format, offset: u64) -> Result<(), TarError> {
        let map = if hdr.typeflag == typeflag::GNU_SPARSE {
            Some(self.old_gnu_sparse_map(hdr, format, offset)?)
        } else {
            self.pax_sparse_map(hdr, offset)?
        };
        let Some(map) = map else { return Ok(()) };
        if is_header_only(hdr.typeflag) || !valid_sparse(&map, hdr.size) {
            return Err(header_error(offset, "the sparse map is invalid"));
        }
        // Go's invertSparseEntries: the holes between the data fragments.
        let mut holes = Vec::with_capacity(map.len() + 1);
        let (mut pre_off, mut pre_len);
        pre_off = 0i64;
        for &(off, len) in &map {
            if len == 0 {
                continue;
            }
            pre_len = off - pre_off;
            if pre_len > 0 {
                holes.push((pre_off, pre_len));
            }
            pre_off = off + len;
        }
        holes.push((pre_off, hdr.size - pre_off));
        if hdr.typeflag != typeflag::GNU_SPARSE {
            hdr.ambiguities.push(Ambiguity {
                offset,
                what: "a GNU sparse file in PAX format".to_owned(),
                runtime: format!("a file of {} bytes with holes, named {}", hdr.size, show(&hdr.name)),
                other: "a regular file holding the raw sparse map and data, under the placeholder name (the tar crate)"
                    .to_owned(),
            });
        }
        let nb = self.data.physical_remaining();
        self.data = Data::Sparse { nb, holes, first: 0, pos: 0, header: offset, pending: None };
        hdr.sparse = true;
        Ok(())
    }

    /// Go's `readOldGNUSparseMap`.
    fn old_gnu_sparse_map(
        &mut self,
        hdr: &mut Header,
        format: Format,
        offset: u64,
    ) -> Result<Vec<(i64, i64)>, TarError> {
        if format != Format::Gnu {
            return Err(header_error(offset, "an old GNU sparse header in a non-GNU format"));
        }
        let bad = |_| header_error(offset, "the old GNU sparse map is not a number");
        hdr.size = parse_numeric(&self.blk[483..495]).map_err(bad)?;
        let mut map = Vec::new();
        let mut area: Vec<u8> = self.blk[386..386 + 24 * 4 + 1].to_vec();
        let mut extensions = 0usize;
        loop {
            let entries = area.len() / 24;
            for i in 0..entries {
                let e = &area[i * 24..i * 24 + 24];
                if e[0] == 0 {
                    break;
                }
                let off = parse_numeric(&e[..12]).map_err(bad)?;
                let len = parse_numeric(&e[12..24]).map_err(bad)?;
                map.push((off, len));
            }
            if area[24 * entries] == 0 {
                return Ok(map);
            }
            extensions += 1;
            if extensions * BLOCK > MAX_SPECIAL {
                return Err(TarError::TooLong { offset, what: "an old GNU sparse map" });
            }
            match self.read_block()? {
                Full::Yes => {}
                Full::Eof | Full::Partial => return Err(TarError::Truncated { offset: self.pos }),
            }
            area = self.blk[..].to_vec();
        }
    }

    /// Go's `readGNUSparsePAXHeaders`: `None` when the entry is not a PAX sparse file.
    fn pax_sparse_map(&mut self, hdr: &mut Header, offset: u64) -> Result<Option<Vec<(i64, i64)>>, TarError> {
        let get = |k: &str| hdr.pax.get(k.as_bytes()).map(Vec::as_slice).unwrap_or(b"");
        let (major, minor) = (get("GNU.sparse.major"), get("GNU.sparse.minor"));
        let is_1x0 = match (major, minor) {
            (b"0", b"0" | b"1") => false,
            (b"1", b"0") => true,
            _ if !major.is_empty() || !minor.is_empty() => return Ok(None),
            _ if !get("GNU.sparse.map").is_empty() => false,
            _ => return Ok(None),
        };
        let bad = || header_error(offset, "a GNU sparse PAX record is invalid");
        let name = get("GNU.sparse.name").to_vec();
        let size = match get("GNU.sparse.size") {
            b"" => get("GNU.sparse.realsize").to_vec(),
            s => s.to_vec(),
        };
        let numblocks = get("GNU.sparse.numblocks").to_vec();
        let map_text = get("GNU.sparse.map").to_vec();
        if !name.is_empty() {
            hdr.name = name;
        }
        if !size.is_empty() {
            hdr.size = parse_decimal(&size).ok_or_else(bad)?;
        }
        if is_1x0 {
            return self.sparse_map_1x0(offset).map(Some);
        }
        // Version 0.1 (and 0.0, turned into 0.1 by parse_pax): the map in the records.
        let n = parse_decimal(&numblocks).filter(|n| *n >= 0 && n.checked_mul(2).is_some()).ok_or_else(bad)?;
        let fields: Vec<&[u8]> =
            if map_text.is_empty() { Vec::new() } else { map_text.split(|&c| c == b',').collect() };
        if fields.len() as i64 != 2 * n {
            return Err(bad());
        }
        let mut map = Vec::with_capacity(n as usize);
        for pair in fields.chunks(2) {
            match (parse_decimal(pair[0]), parse_decimal(pair[1])) {
                (Some(o), Some(l)) => map.push((o, l)),
                _ => return Err(bad()),
            }
        }
        Ok(Some(map))
    }

    /// Go's `readGNUSparseMap1x0`: the map at the start of the entry's data, in
    /// whole blocks, newline-separated decimal numbers (count, then offset/length pairs).
    fn sparse_map_1x0(&mut self, offset: u64) -> Result<Vec<(i64, i64)>, TarError> {
        let bad = || header_error(offset, "the GNU sparse 1.0 map is invalid");
        let mut map = SparseText::default();
        self.feed_sparse(&mut map, 1, offset)?;
        let n = parse_decimal(map.token()).filter(|n| *n >= 0 && n.checked_mul(2).is_some()).ok_or_else(bad)?;
        self.feed_sparse(&mut map, 2 * n, offset)?;
        let mut out = Vec::with_capacity(n.min(1 << 16) as usize);
        for _ in 0..n {
            let o = parse_decimal(map.token());
            let l = parse_decimal(map.token());
            match (o, l) {
                (Some(o), Some(l)) => out.push((o, l)),
                _ => return Err(bad()),
            }
        }
        Ok(out)
    }

    /// Reads blocks of the entry's data until `map` holds `want` unread newlines.
    fn feed_sparse(&mut self, map: &mut SparseText, want: i64, offset: u64) -> Result<(), TarError> {
        while map.newlines < want {
            if map.buf.len() + BLOCK > MAX_SPECIAL {
                return Err(TarError::TooLong { offset, what: "a GNU sparse map" });
            }
            let mut blk = [0u8; BLOCK];
            let mut got = 0;
            while got < BLOCK {
                let n = self.read_physical(&mut blk[got..])?;
                if n == 0 {
                    return Err(TarError::Truncated { offset: self.pos });
                }
                got += n;
            }
            map.buf.extend_from_slice(&blk);
            map.newlines += memchr::memchr_iter(b'\n', &blk).count() as i64;
        }
        Ok(())
    }

    /// Reads the current entry's data; 0 at its end. Holes of sparse files read as
    /// zeros (Go's `sparseFileReader`).
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        let r = self.read_data_inner(buf);
        if let Err(e) = &r {
            self.err = Some(e.clone());
        }
        r
    }

    fn read_data_inner(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        let (logical_remaining, pending) = match &mut self.data {
            Data::Regular { .. } => return self.read_physical(buf),
            Data::Sparse { holes, pos, pending, .. } => {
                let (o, l) = holes[holes.len() - 1];
                (o + l - *pos, pending.take())
            }
        };
        if let Some(e) = pending {
            return Err(e);
        }
        let want = (buf.len() as i64).min(logical_remaining).max(0) as usize;
        let mut done = 0;
        while done < want {
            let Data::Sparse { holes, first, pos, .. } = &self.data else { unreachable!() };
            let (hole_start, hole_len) = holes[*first];
            let hole_end = hole_start + hole_len;
            let at = *pos;
            let n = if at < hole_start {
                let len = ((want - done) as i64).min(hole_start - at) as usize;
                if self.data.physical_remaining() == 0 {
                    let Data::Sparse { header, .. } = &self.data else { unreachable!() };
                    return Err(TarError::SparseMissingData { offset: *header });
                }
                let n = self.read_physical(&mut buf[done..done + len])?;
                if n == 0 {
                    let Data::Sparse { header, .. } = &self.data else { unreachable!() };
                    return Err(TarError::SparseMissingData { offset: *header });
                }
                n
            } else {
                let len = ((want - done) as i64).min(hole_end - at) as usize;
                buf[done..done + len].fill(0);
                len
            };
            done += n;
            let Data::Sparse { holes, first, pos, .. } = &mut self.data else { unreachable!() };
            *pos += n as i64;
            if *pos >= hole_end && *first + 1 < holes.len() {
                *first += 1;
            }
        }
        if let Data::Sparse { holes, pos, nb, header, pending, .. } = &mut self.data {
            let (o, l) = holes[holes.len() - 1];
            if o + l - *pos == 0 && *nb > 0 {
                let e = TarError::SparseUnreferencedData { offset: *header };
                if done == 0 {
                    return Err(e);
                }
                *pending = Some(e);
            }
        }
        Ok(done)
    }

    /// The current entry's data as a `Read` (errors carry the [`TarError`]).
    pub fn data(&mut self) -> EntryData<'_, R> {
        EntryData { reader: self }
    }

    /// Reads the rest of the current entry's data, checking it as a runtime unpacking
    /// it would (a sparse file's map against its data). Holes are skipped, not read:
    /// a file of terabytes of holes costs its data, not its size. Returns the logical
    /// bytes passed over.
    pub fn drain(&mut self) -> Result<u64, TarError> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        let r = self.drain_inner();
        if let Err(e) = &r {
            self.err = Some(e.clone());
        }
        r
    }

    fn drain_inner(&mut self) -> Result<u64, TarError> {
        let mut buf = [0u8; 16 * 1024];
        let mut total = 0u64;
        loop {
            let (hole_start, hole_end, at, header) = match &mut self.data {
                Data::Regular { .. } => {
                    let n = self.read_physical(&mut buf)?;
                    if n == 0 {
                        return Ok(total);
                    }
                    total += n as u64;
                    continue;
                }
                Data::Sparse { holes, first, pos, nb, header, pending } => {
                    if let Some(e) = pending.take() {
                        return Err(e);
                    }
                    let (o, l) = holes[holes.len() - 1];
                    if *pos >= o + l {
                        if *nb > 0 {
                            return Err(TarError::SparseUnreferencedData { offset: *header });
                        }
                        return Ok(total);
                    }
                    let (hs, hl) = holes[*first];
                    (hs, hs + hl, *pos, *header)
                }
            };
            let advanced = if at < hole_start {
                let want = (buf.len() as i64).min(hole_start - at) as usize;
                let n = if self.data.physical_remaining() == 0 { 0 } else { self.read_physical(&mut buf[..want])? };
                if n == 0 {
                    return Err(TarError::SparseMissingData { offset: header });
                }
                n as i64
            } else {
                hole_end - at
            };
            total += advanced as u64;
            if let Data::Sparse { holes, first, pos, .. } = &mut self.data {
                *pos += advanced;
                if *pos >= hole_end && *first + 1 < holes.len() {
                    *first += 1;
                }
            }
        }
    }
}

/// The current entry's data; see [`Reader::data`].
#[derive(Debug)]
pub struct EntryData<'a, R> {
    reader: &'a mut Reader<R>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read_data(buf).map_err(io::Error::from)
    }
}

/// A GNU sparse 1.0 map as read so far.
#[derive(Default)]
struct SparseText {
    buf: Vec<u8>,
    at: usize,
    newlines: i64,
}

impl SparseText {
    /// The next newline-terminated token (one is there: `newlines` counts them).
    fn token(&mut self) -> &[u8] {
        self.newlines -= 1;
        let rest = &self.buf[self.at..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let start = self.at;
        self.at += (end + 1).min(rest.len());
        &self.buf[start..start + end]
    }
}

struct HeaderFormat {
    format: Format,
    /// The pre-Go 1.8 GNU prefix fallback applied, with this prefix.
    gnu_prefix: Option<Vec<u8>>,
}

fn discarded(kind: u8, at: u64, global: u64) -> Ambiguity {
    let what = match kind {
        typeflag::X_HEADER => "a PAX extended header",
        typeflag::GNU_LONG_NAME => "a GNU long name",
        _ => "a GNU long link",
    };
    Ambiguity {
        offset: at,
        what: format!("{what} followed by a PAX global header (offset {global})"),
        runtime: "it is dropped: it applies to no entry".to_owned(),
        other: "it applies to the next entry".to_owned(),
    }
}

fn kind_name(flag: u8) -> &'static str {
    match flag {
        typeflag::LINK => "hardlink",
        typeflag::SYMLINK => "symlink",
        typeflag::CHAR => "character device",
        typeflag::BLOCK => "block device",
        typeflag::DIR => "directory",
        typeflag::FIFO => "FIFO",
        _ => "entry",
    }
}

/// Go's `mergePAX`.
fn merge_pax(hdr: &mut Header, records: &BTreeMap<Vec<u8>, Vec<u8>>, offset: u64) -> Result<(), TarError> {
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

/// Go's `validateSparseEntries`.
fn valid_sparse(map: &[(i64, i64)], size: i64) -> bool {
    if size < 0 {
        return false;
    }
    let mut pre_end = 0i64;
    for &(off, len) in map {
        if off < 0 || len < 0 || off > i64::MAX - len || off + len > size || pre_end > off {
            return false;
        }
        pre_end = off + len;
    }
    true
}

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
