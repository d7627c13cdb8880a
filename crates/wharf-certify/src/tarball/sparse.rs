//! GNU sparse files (the old format and PAX 0.0, 0.1 and 1.0), read as Go's
//! `archive/tar` reads them: the map checked, holes read as zeros, skipped unread
//! when an entry is drained.

use super::*;

impl<R: Read> Reader<R> {
    /// Go's `handleSparseFile`.
    pub(super) fn handle_sparse(&mut self, hdr: &mut Header, format: Format, offset: u64) -> Result<(), TarError> {
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
    pub(super) fn old_gnu_sparse_map(
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
    pub(super) fn pax_sparse_map(
        &mut self,
        hdr: &mut Header,
        offset: u64,
    ) -> Result<Option<Vec<(i64, i64)>>, TarError> {
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
    pub(super) fn sparse_map_1x0(&mut self, offset: u64) -> Result<Vec<(i64, i64)>, TarError> {
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
    pub(super) fn feed_sparse(&mut self, map: &mut SparseText, want: i64, offset: u64) -> Result<(), TarError> {
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

    pub(super) fn read_data_inner(&mut self, buf: &mut [u8]) -> Result<usize, TarError> {
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

    pub(super) fn drain_inner(&mut self) -> Result<u64, TarError> {
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

/// A GNU sparse 1.0 map as read so far.
#[derive(Default)]
pub(super) struct SparseText {
    buf: Vec<u8>,
    at: usize,
    newlines: i64,
}

impl SparseText {
    /// The next newline-terminated token (one is there: `newlines` counts them).
    pub(super) fn token(&mut self) -> &[u8] {
        self.newlines -= 1;
        let rest = &self.buf[self.at..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let start = self.at;
        self.at += (end + 1).min(rest.len());
        &self.buf[start..start + end]
    }
}

/// Go's `validateSparseEntries`.
pub(super) fn valid_sparse(map: &[(i64, i64)], size: i64) -> bool {
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
