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

mod fields;
mod list;
mod sparse;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};

pub use fields::parse_decimal;
use fields::*;
pub use list::{Listed, Listing, list};

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

/// An I/O error from the stream, or the tar error inside one (from [`EntryData`]).
impl From<io::Error> for TarError {
    fn from(e: io::Error) -> TarError {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<TarError>()) {
            Some(t) => t.clone(),
            None => TarError::Io { kind: e.kind(), message: e.to_string() },
        }
    }
}

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

impl<R: Read> Reader<R> {
    /// A reader of the tar stream `r` (already decompressed).
    pub fn new(r: R) -> Reader<R> {
        Reader { r, pos: 0, pad: 0, data: Data::Regular { nb: 0 }, blk: Box::new([0; BLOCK]), err: None }
    }

    /// One `read` of the raw stream.
    fn raw_read(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
        raw_read(&mut self.r, &mut self.pos, buf)
    }

    /// Fills `buf` from the raw stream (Go's `io.ReadFull`).
    fn raw_full(&mut self, buf: &mut [u8]) -> Result<Full, TarError> {
        raw_full(&mut self.r, &mut self.pos, buf)
    }

    /// Reads the next block into `blk`.
    fn read_block(&mut self) -> Result<Full, TarError> {
        raw_full(&mut self.r, &mut self.pos, &mut self.blk[..])
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
                        // Go merges the records into the global header, ignoring errors,
                        // and returns its name and xattrs only.
                        let _ = merge_pax(&mut hdr, &records, offset);
                        return Ok(Some(Header {
                            offset,
                            typeflag: typeflag::X_GLOBAL,
                            name: hdr.name,
                            xattrs: hdr.xattrs,
                            pax: records,
                            ambiguities,
                            ..Header::default()
                        }));
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
}

/// One `read` of `r`, counted in `pos`.
fn raw_read(r: &mut impl Read, pos: &mut u64, buf: &mut [u8]) -> Result<usize, TarError> {
    loop {
        match r.read(buf) {
            Ok(n) => {
                *pos += n as u64;
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Fills `buf` from `r` (Go's `io.ReadFull`).
fn raw_full(r: &mut impl Read, pos: &mut u64, buf: &mut [u8]) -> Result<Full, TarError> {
    let mut got = 0;
    while got < buf.len() {
        let n = raw_read(r, pos, &mut buf[got..])?;
        if n == 0 {
            return Ok(if got == 0 { Full::Eof } else { Full::Partial });
        }
        got += n;
    }
    Ok(Full::Yes)
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

/// What an entry of type `flag` is, in words.
pub fn kind_name(flag: u8) -> &'static str {
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
