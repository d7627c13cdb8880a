//! Version order, each ecosystem's own: an advisory's `fixed 1.2.10` must sort after
//! `1.2.9` the way that ecosystem's package manager sorts it.
//!
//! - Debian and Ubuntu: dpkg's order (epoch, upstream, revision; `~` sorts first),
//!   as deb-version(7) describes it; the tests compare with `dpkg --compare-versions`.
//! - Alpine: apk's order (numbers, a letter, `_alpha`…`_rc` before the release and
//!   `_cvs`…`_p` after it, `-rN`).
//! - RPM distributions: `rpmvercmp` on epoch, version and release (`~` before,
//!   `^` after).
//! - npm, crates.io, Go: Semantic Versioning 2.0 (Go's leading `v` dropped; a
//!   missing minor or patch is 0).
//! - PyPI: PEP 440 (the `pep440_rs` crate).
//! - Maven: Maven's ComparableVersion (qualifiers alpha < beta < milestone < rc <
//!   snapshot < release < sp; trailing zeros ignored).

use std::cmp::Ordering;
use std::str::FromStr;

/// The version schemes advisories use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// dpkg.
    Debian,
    /// apk.
    Alpine,
    /// rpm.
    Rpm,
    /// SemVer 2.0 (npm, crates.io, Go; OSV `SEMVER` ranges).
    Semver,
    /// PEP 440.
    Pep440,
    /// Maven.
    Maven,
}

impl Scheme {
    /// The scheme of an OSV ecosystem (`Debian:12`, `PyPI`, …), if Wharf orders it.
    pub fn of_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or(ecosystem);
        Some(match base {
            "Debian" | "Ubuntu" => Scheme::Debian,
            "Alpine" | "Wolfi" | "Chainguard" => Scheme::Alpine,
            "Red Hat" | "AlmaLinux" | "Rocky Linux" | "openSUSE" | "SUSE" | "Mageia" | "openEuler" => Scheme::Rpm,
            "npm" | "crates.io" | "Go" => Scheme::Semver,
            "PyPI" => Scheme::Pep440,
            "Maven" => Scheme::Maven,
            _ => return None,
        })
    }

    /// Compares two versions; `None` when either does not parse in this scheme.
    pub fn compare(self, a: &str, b: &str) -> Option<Ordering> {
        match self {
            Scheme::Debian => Some(dpkg(a, b)),
            Scheme::Alpine => Some(apk(a, b)),
            Scheme::Rpm => Some(rpm_evr(a, b)),
            Scheme::Semver => Some(semver_lenient(a)?.cmp(&semver_lenient(b)?)),
            Scheme::Pep440 => Some(pep440_rs::Version::from_str(a).ok()?.cmp(&pep440_rs::Version::from_str(b).ok()?)),
            Scheme::Maven => Some(maven(a, b)),
        }
    }
}

fn semver_lenient(v: &str) -> Option<semver::Version> {
    let v = v.trim().trim_start_matches('v');
    if let Ok(x) = semver::Version::parse(v) {
        return Some(x);
    }
    // `1.2` or `1` (and `1.2-beta`): pad the missing parts with zeros.
    let split = v.find(['-', '+']).unwrap_or(v.len());
    let (core, rest) = v.split_at(split);
    let parts = core.split('.').count();
    if parts >= 3 || core.is_empty() {
        return None;
    }
    let padded = format!("{core}{}{rest}", ".0".repeat(3 - parts));
    semver::Version::parse(&padded).ok()
}

// ---- dpkg ----

fn dpkg_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp` on one part (upstream version or revision).
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0i32;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = dpkg_order(a.get(i).copied());
            let bc = dpkg_order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

/// `[epoch:]upstream[-revision]`.
fn dpkg_parts(v: &str) -> (u64, &str, &str) {
    let v = v.trim();
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) && !e.is_empty() => (e.parse().unwrap_or(u64::MAX), r),
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((up, rev)) => (epoch, up, rev),
        None => (epoch, rest, ""),
    }
}

/// dpkg's version order.
pub fn dpkg(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = dpkg_parts(a);
    let (eb, ub, rb) = dpkg_parts(b);
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| verrevcmp(ra.as_bytes(), rb.as_bytes()))
}

// ---- apk ----

#[derive(Debug, Default)]
struct ApkVersion {
    numbers: Vec<u64>,
    letter: Option<u8>,
    suffixes: Vec<(i32, u64)>,
    revision: u64,
}

fn apk_parse(v: &str) -> ApkVersion {
    let mut out = ApkVersion::default();
    let v = v.trim();
    let (v, rev) = match v.rsplit_once("-r") {
        Some((head, r)) if !r.is_empty() && r.bytes().all(|c| c.is_ascii_digit()) => (head, r.parse().unwrap_or(0)),
        _ => (v, 0),
    };
    out.revision = rev;
    // A `~hash` (git commit) part does not order.
    let v = v.split('~').next().unwrap_or(v);
    let mut parts = v.split('_');
    let head = parts.next().unwrap_or("");
    let digits_end = head.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(head.len());
    out.numbers =
        head[..digits_end].split('.').filter(|s| !s.is_empty()).map(|s| s.parse().unwrap_or(u64::MAX)).collect();
    out.letter = head[digits_end..].bytes().next();
    for s in parts {
        let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
        let rank = match &s[..split] {
            "alpha" => -4,
            "beta" => -3,
            "pre" => -2,
            "rc" => -1,
            "cvs" => 1,
            "svn" => 2,
            "git" => 3,
            "hg" => 4,
            "p" => 5,
            _ => 6,
        };
        out.suffixes.push((rank, s[split..].parse().unwrap_or(0)));
    }
    out
}

/// apk's version order.
pub fn apk(a: &str, b: &str) -> Ordering {
    let (a, b) = (apk_parse(a), apk_parse(b));
    let n = a.numbers.len().max(b.numbers.len());
    for k in 0..n {
        match (a.numbers.get(k), b.numbers.get(k)) {
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            (Some(_), None) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            _ => {}
        }
    }
    let by_letter = a.letter.cmp(&b.letter);
    if by_letter != Ordering::Equal {
        return by_letter;
    }
    let n = a.suffixes.len().max(b.suffixes.len());
    for k in 0..n {
        let x = a.suffixes.get(k).copied().unwrap_or((0, 0));
        let y = b.suffixes.get(k).copied().unwrap_or((0, 0));
        if x != y {
            return x.cmp(&y);
        }
    }
    a.revision.cmp(&b.revision)
}

// ---- rpm ----

/// `rpmvercmp` on one part.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let skip = |s: &[u8], mut k: usize| {
        while k < s.len() && !s[k].is_ascii_alphanumeric() && s[k] != b'~' && s[k] != b'^' {
            k += 1;
        }
        k
    };
    while i < a.len() || j < b.len() {
        i = skip(a, i);
        j = skip(b, j);
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca.is_none() || cb.is_none() {
            break;
        }
        let numeric = a[i].is_ascii_digit();
        let run = |s: &[u8], k: usize| {
            let mut e = k;
            while e < s.len() && if numeric { s[e].is_ascii_digit() } else { s[e].is_ascii_alphabetic() } {
                e += 1;
            }
            e
        };
        let (ei, ej) = (run(a, i), run(b, j));
        if ej == j {
            // Different kinds of segment: numbers are newer than letters.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (mut sa, mut sb) = (&a[i..ei], &b[j..ej]);
        let ord = if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            sa.len().cmp(&sb.len()).then_with(|| sa.cmp(sb))
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        i = ei;
        j = ej;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        _ => Ordering::Less,
    }
}

/// `[epoch:]version[-release]` in rpm's order.
pub fn rpm_evr(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| {
        let v = v.trim();
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) => (e.parse::<u64>().unwrap_or(0), r),
            _ => (0, v),
        };
        let (ver, rel) = rest.rsplit_once('-').unwrap_or((rest, ""));
        (epoch, ver.to_owned(), rel.to_owned())
    };
    let (ea, va, ra) = parts(a);
    let (eb, vb, rb) = parts(b);
    ea.cmp(&eb).then_with(|| rpmvercmp(&va, &vb)).then_with(|| {
        // A version without release matches any release of it.
        if ra.is_empty() || rb.is_empty() { Ordering::Equal } else { rpmvercmp(&ra, &rb) }
    })
}

// ---- Maven ----

#[derive(Debug, Clone, PartialEq, Eq)]
enum MavenItem {
    Int(u128),
    Qualifier(String),
}

fn maven_qualifier_rank(q: &str) -> (i32, &str) {
    match q {
        "alpha" | "a" => (0, ""),
        "beta" | "b" => (1, ""),
        "milestone" | "m" => (2, ""),
        "rc" | "cr" => (3, ""),
        "snapshot" => (4, ""),
        "" | "ga" | "final" | "release" => (5, ""),
        "sp" => (6, ""),
        other => (7, other),
    }
}

fn maven_items(v: &str) -> Vec<MavenItem> {
    let v = v.trim().to_ascii_lowercase();
    let mut items = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, items: &mut Vec<MavenItem>| {
        if cur.is_empty() {
            return;
        }
        if cur.bytes().all(|c| c.is_ascii_digit()) {
            items.push(MavenItem::Int(cur.parse().unwrap_or(u128::MAX)));
        } else {
            items.push(MavenItem::Qualifier(std::mem::take(cur)));
        }
        cur.clear();
    };
    let mut last_digit: Option<bool> = None;
    for c in v.chars() {
        if c == '.' || c == '-' || c == '_' {
            flush(&mut cur, &mut items);
            last_digit = None;
            continue;
        }
        let digit = c.is_ascii_digit();
        if last_digit.is_some_and(|d| d != digit) {
            flush(&mut cur, &mut items);
        }
        cur.push(c);
        last_digit = Some(digit);
    }
    flush(&mut cur, &mut items);
    // Trailing "null" items (0, ga, final, release, empty) do not count.
    while let Some(last) = items.last() {
        let null = match last {
            MavenItem::Int(0) => true,
            MavenItem::Qualifier(q) => maven_qualifier_rank(q).0 == 5,
            MavenItem::Int(_) => false,
        };
        if !null {
            break;
        }
        items.pop();
    }
    items
}

fn maven_item_cmp(a: Option<&MavenItem>, b: Option<&MavenItem>) -> Ordering {
    use MavenItem::*;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (Some(Int(x)), Some(Int(y))) => x.cmp(y),
        (Some(Int(_)), Some(Qualifier(_))) => Ordering::Greater,
        (Some(Qualifier(_)), Some(Int(_))) => Ordering::Less,
        (Some(Qualifier(x)), Some(Qualifier(y))) => maven_qualifier_rank(x).cmp(&maven_qualifier_rank(y)),
        (Some(Int(x)), None) => x.cmp(&0),
        (None, Some(Int(y))) => 0.cmp(y),
        (Some(Qualifier(x)), None) => maven_qualifier_rank(x).0.cmp(&5),
        (None, Some(Qualifier(y))) => 5.cmp(&maven_qualifier_rank(y).0),
    }
}

/// Maven's version order.
pub fn maven(a: &str, b: &str) -> Ordering {
    let (a, b) = (maven_items(a), maven_items(b));
    for k in 0..a.len().max(b.len()) {
        let o = maven_item_cmp(a.get(k), b.get(k));
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn each_ecosystem_orders_its_own_way() {
        let cases: &[(Scheme, &str, &str, Ordering)] = &[
            (Scheme::Alpine, "1.2.10-r0", "1.2.9-r0", Greater),
            (Scheme::Alpine, "1.0_rc1-r0", "1.0-r0", Less),
            (Scheme::Alpine, "1.0_p1-r0", "1.0-r0", Greater),
            (Scheme::Alpine, "1.0_alpha2", "1.0_beta1", Less),
            (Scheme::Alpine, "1.0a-r0", "1.0-r0", Greater),
            (Scheme::Alpine, "3.1.4-r5", "3.1.4-r10", Less),
            (Scheme::Alpine, "1.2.3", "1.2.3-r0", Equal),
            (Scheme::Alpine, "2.0", "1.99.99", Greater),
            (Scheme::Rpm, "1.0~rc1-1", "1.0-1", Less),
            (Scheme::Rpm, "1.0^20200101-1", "1.0-1", Greater),
            (Scheme::Rpm, "1:1.0-1", "2.0-1", Greater),
            (Scheme::Rpm, "1.0.10-1.el9", "1.0.9-3.el9", Greater),
            (Scheme::Rpm, "3.0.7-24.el9", "3.0.7-25.el9", Less),
            (Scheme::Rpm, "1.0a", "1.0.1", Less),
            (Scheme::Rpm, "1.010", "1.10", Equal),
            (Scheme::Rpm, "2.0", "2.0-5", Equal),
            (Scheme::Semver, "1.2.10", "1.2.9", Greater),
            (Scheme::Semver, "1.0.0-rc.1", "1.0.0", Less),
            (Scheme::Semver, "v0.12.0", "0.9.3", Greater),
            (Scheme::Semver, "1.2", "1.2.0", Equal),
            (Scheme::Pep440, "1.0rc1", "1.0", Less),
            (Scheme::Pep440, "1.0.post1", "1.0", Greater),
            (Scheme::Pep440, "1.0.dev1", "1.0a1", Less),
            (Scheme::Pep440, "2.0", "10.0", Less),
            (Scheme::Pep440, "1!0.1", "9.9", Greater),
            (Scheme::Maven, "1.0-alpha", "1.0-beta", Less),
            (Scheme::Maven, "1.0-rc1", "1.0", Less),
            (Scheme::Maven, "1.0-SNAPSHOT", "1.0", Less),
            (Scheme::Maven, "1.0", "1", Equal),
            (Scheme::Maven, "1.0.0.Final", "1.0", Equal),
            (Scheme::Maven, "1.0-sp1", "1.0", Greater),
            (Scheme::Maven, "2.17.1", "2.17.0", Greater),
            (Scheme::Maven, "2.9.10.8", "2.10.0", Less),
            (Scheme::Maven, "1.0.1", "1.0-beta", Greater),
        ];
        for (scheme, a, b, want) in cases {
            assert_eq!(scheme.compare(a, b), Some(*want), "{scheme:?}: {a} vs {b}");
            assert_eq!(scheme.compare(b, a), Some(want.reverse()), "{scheme:?}: {b} vs {a}");
        }
        assert_eq!(Scheme::Semver.compare("not a version", "1.0.0"), None);
        assert_eq!(Scheme::Pep440.compare("1.0", "not-a-version!"), None);
    }

    /// Debian's order against the real thing: `dpkg --compare-versions` (Debian machines
    /// have it; the test fails rather than passes without it).
    #[test]
    fn debian_order_matches_dpkg() {
        let versions = [
            "1.0",
            "1.0-1",
            "1.0-1+deb12u1",
            "1.0-1+b1",
            "1.0~rc1-1",
            "1.0~~",
            "1.0~",
            "1.0a",
            "1.0+dfsg-1",
            "1:0.9",
            "2:0.1",
            "1.00",
            "1.0.0",
            "1.0-0",
            "0.99",
            "3.0.11-1~deb12u2",
            "3.0.11-1",
            "3.0.13-1~deb12u1",
            "2.36-9+deb12u4",
            "2.36-9+deb12u10",
            "10.0",
            "9.a",
            "9.A",
            "9.+",
        ];
        for a in versions {
            for b in versions {
                let ours = dpkg(a, b);
                let op = match ours {
                    Less => "lt",
                    Equal => "eq",
                    Greater => "gt",
                };
                let status = std::process::Command::new("dpkg")
                    .args(["--compare-versions", a, op, b])
                    .status()
                    .expect("dpkg runs (the tests run on Debian)");
                assert!(status.success(), "dpkg disagrees: {a} {op} {b}");
            }
        }
    }
}
