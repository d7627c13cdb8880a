//! Go binaries' build information (Go 1.18+): the Go version, the main module and
//! every dependency with its version, as the Go linker embeds them.

use std::io::{self, Read};

use crate::package::Component;

const MAGIC: &[u8] = b"\xff Go buildinf:";
/// How much follows the magic that the parser looks at.
const WINDOW: usize = 1 << 20;

/// Finds the build information in an executable whose first bytes are `head` and
/// whose remaining bytes `rest` yields; returns the bytes from the magic on (at most
/// [`WINDOW`]). Reads the rest in 1 MiB chunks, keeping only a small overlap.
pub fn find(head: &[u8], rest: &mut dyn Read) -> io::Result<Option<Vec<u8>>> {
    if let Some(at) = memfind(head, MAGIC) {
        let mut out = head[at..].to_vec();
        if out.len() < WINDOW {
            rest.take((WINDOW - out.len()) as u64).read_to_end(&mut out)?;
        }
        out.truncate(WINDOW);
        return Ok(Some(out));
    }
    let mut carry: Vec<u8> = head[head.len().saturating_sub(MAGIC.len() - 1)..].to_vec();
    loop {
        // Read straight into `carry` (no zeroed buffer per executable: most have been
        // read whole already and `rest` is empty).
        let before = carry.len();
        (&mut *rest).take(1 << 20).read_to_end(&mut carry)?;
        if carry.len() == before {
            return Ok(None);
        }
        if let Some(at) = memfind(&carry, MAGIC) {
            let mut out = carry[at..].to_vec();
            if out.len() < WINDOW {
                rest.take((WINDOW - out.len()) as u64).read_to_end(&mut out)?;
            }
            out.truncate(WINDOW);
            return Ok(Some(out));
        }
        let keep = carry.len().saturating_sub(MAGIC.len() - 1);
        carry.drain(..keep);
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

fn varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut v: usize = 0;
    for (i, byte) in b.iter().enumerate().take(10) {
        v |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Parses build information found by [`find`]: components for the Go standard
/// library (`pkg:golang/stdlib@1.22.1`), the main module and every dependency.
/// Older (pre-1.18, pointer-based) layouts are not read.
pub fn parse(info: &[u8], path: &str) -> Vec<Component> {
    let mut out = Vec::new();
    if info.len() < 32 || info[15] & 0x2 == 0 {
        return out;
    }
    let mut at = 32;
    let mut next = || -> Option<&[u8]> {
        let (len, used) = varint(info.get(at..)?)?;
        let s = info.get(at + used..at + used + len)?;
        at += used + len;
        Some(s)
    };
    let (Some(version), Some(mut modinfo)) = (next(), next()) else { return out };
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        modinfo = &modinfo[16..modinfo.len() - 16];
    }
    let version = String::from_utf8_lossy(version);
    if let Some(v) = version.strip_prefix("go") {
        out.push(Component {
            ecosystem: "golang",
            name: "stdlib".into(),
            version: v.to_owned(),
            purl: format!("pkg:golang/stdlib@{v}"),
            path: path.to_owned(),
            ..Component::default()
        });
    }
    for line in String::from_utf8_lossy(modinfo).lines() {
        let mut fields = line.split('\t');
        if let (Some("mod" | "dep"), Some(module), Some(v)) = (fields.next(), fields.next(), fields.next())
            && v != "(devel)"
        {
            out.push(Component {
                ecosystem: "golang",
                name: module.to_owned(),
                version: v.to_owned(),
                purl: format!("pkg:golang/{module}@{v}"),
                path: path.to_owned(),
                ..Component::default()
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Build information as the Go 1.18+ linker lays it out.
    pub(crate) fn buildinfo(go: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.push(8);
        b.push(0x2);
        b.resize(32, 0);
        let sentinel = [0x30u8; 16];
        let mut mi = sentinel.to_vec();
        mi.extend_from_slice(modinfo.as_bytes());
        mi.extend_from_slice(&sentinel);
        for s in [go.as_bytes(), &mi[..]] {
            b.push(u8::try_from(s.len()).unwrap_or(0x7f) | if s.len() > 127 { 0x80 } else { 0 });
            if s.len() > 127 {
                b.push(u8::try_from(s.len() >> 7).unwrap());
            }
            b.extend_from_slice(s);
        }
        b
    }

    #[test]
    fn go_build_information_lists_modules() {
        let modinfo = "path\tgithub.com/contoso/app\nmod\tgithub.com/contoso/app\t(devel)\t\ndep\tgolang.org/x/net\tv0.23.0\th1:abc=\ndep\tgithub.com/spf13/cobra\tv1.8.0\th1:def=\nbuild\t-compiler=gc\n";
        let mut binary = vec![0x7f, b'E', b'L', b'F'];
        binary.resize(3 << 20, 0);
        binary.extend_from_slice(&buildinfo("go1.22.1", modinfo));
        binary.extend_from_slice(&[0u8; 4096]);
        let (head, rest) = binary.split_at(1 << 20);
        let found = find(head, &mut &rest[..]).unwrap().expect("found past the first chunk");
        let purls: Vec<String> = parse(&found, "usr/bin/app").into_iter().map(|c| c.purl).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/stdlib@1.22.1",
                "pkg:golang/golang.org/x/net@v0.23.0",
                "pkg:golang/github.com/spf13/cobra@v1.8.0"
            ]
        );
        assert_eq!(find(&binary[..100], &mut &[0u8; 10][..]).unwrap(), None);
    }
}
