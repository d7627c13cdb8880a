//! The image's final file view: each layer's entries applied in order, OCI
//! whiteouts (`.wh.<name>` and the opaque `.wh..wh..opq`) removing what lower layers
//! put there. It is a map in memory: nothing is extracted, so no entry can write
//! anywhere; entries that would have escaped on a naive extraction are findings.

use std::collections::BTreeMap;

use crate::check::Check;
use crate::finding::{Finding, Findings, Severity};

/// One file of the view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A regular file.
    File {
        /// Bytes.
        size: u64,
        /// Permission bits (setuid, setgid, world-writable are policy checks).
        mode: u32,
    },
    /// A symbolic link, target as written.
    Symlink {
        /// The link's target.
        target: String,
    },
    /// A hard link to another file of the image (normalized path).
    Hardlink {
        /// The linked file.
        target: String,
    },
    /// A device or FIFO.
    Special,
}

/// Where a node came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The node.
    pub node: Node,
    /// Index of the layer that put it there (0 is the base layer).
    pub layer: usize,
}

/// The file view of an image, built layer by layer.
#[derive(Debug, Default)]
pub struct View {
    nodes: BTreeMap<String, Placed>,
    layer: usize,
    digest: String,
    started: bool,
    /// Bytes of all paths held.
    names_bytes: u64,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

impl View {
    /// An empty view.
    pub fn new() -> View {
        View::default()
    }

    /// Starts applying the next layer.
    pub fn begin_layer(&mut self, digest: &str) {
        if self.started {
            self.layer += 1;
        }
        self.started = true;
        self.digest = digest.to_owned();
    }

    /// Bytes of all the paths the view holds (what its memory grows with).
    pub fn names_bytes(&self) -> u64 {
        self.names_bytes
    }

    /// The file at `path` (normalized, relative).
    pub fn get(&self, path: &str) -> Option<&Placed> {
        self.nodes.get(path)
    }

    /// Every file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Placed)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn finding(&self, check: Check, severity: Severity, message: impl Into<String>, path: &str) -> Finding {
        Finding::new(check, severity, message, &self.digest).path(path)
    }

    /// Removes `path` and everything under it that lower layers put there.
    fn remove_lower(&mut self, path: &str) {
        let prefix = format!("{path}/");
        let gone: Vec<String> = self
            .nodes
            .range(path.to_owned()..)
            .take_while(|(k, _)| k.as_str() == path || k.starts_with(&prefix))
            .filter(|(_, p)| p.layer != self.layer)
            .map(|(k, _)| k.clone())
            .collect();
        self.remove(gone);
    }

    fn remove(&mut self, paths: Vec<String>) {
        for k in paths {
            if self.nodes.remove(&k).is_some() {
                self.names_bytes -= k.len() as u64;
            }
        }
    }

    /// Applies one entry of the current layer; returns whether it is in the view
    /// (false for whiteouts and refused entries, which become findings).
    pub fn apply(&mut self, path: &str, node: Node, findings: &mut Findings) -> bool {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", path),
        };
        // A parent that is a symlink: a naive extraction writes through it, anywhere.
        let mut prefix = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            match self.nodes.get(&prefix).map(|p| &p.node) {
                Some(Node::Symlink { target }) => {
                    findings.push(
                        self.finding(
                            Check::LayerThroughSymlink,
                            Severity::Critical,
                            format!(
                                "the entry's parent {prefix} is a symlink: extracted, it would be written to {target}"
                            ),
                            path,
                        )
                        .detail(format!("{prefix} -> {target}")),
                    );
                    return false;
                }
                Some(Node::Dir { .. }) | None => {}
                Some(_) => {
                    findings.push(self.finding(
                        Check::LayerParentNotDirectory,
                        Severity::Medium,
                        format!("the entry's parent {prefix} is not a directory; the entry was skipped"),
                        path,
                    ));
                    return false;
                }
            }
        }
        if name == OPAQUE {
            let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
            let gone: Vec<String> = self
                .nodes
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .filter(|(_, p)| p.layer != self.layer)
                .map(|(k, _)| k.clone())
                .collect();
            self.remove(gone);
            return false;
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            // containerd refuses whiteouts of no name, `.` and `..`; a naive runtime
            // would delete the directory itself or its parent.
            if matches!(hidden, "" | "." | "..") {
                findings.push(
                    self.finding(
                        Check::LayerWhiteoutInvalid,
                        Severity::High,
                        "a whiteout that names no file: runtimes refuse it, or delete the directory or its parent",
                        path,
                    )
                    .detail(format!("whiteout of {hidden:?}")),
                );
                return false;
            }
            let target = if dir.is_empty() { hidden.to_owned() } else { format!("{dir}/{hidden}") };
            self.remove_lower(&target);
            return false;
        }
        if self.nodes.get(path).is_some_and(|p| p.layer == self.layer) {
            findings.push(self.finding(
                Check::LayerDuplicateEntry,
                Severity::Medium,
                "the layer has more than one entry for this path; the last one wins",
                path,
            ));
        }
        match &node {
            Node::Symlink { target } if escapes_root(path, target) => findings.push(
                self.finding(
                    Check::LayerLinkOutside,
                    Severity::High,
                    "a symlink whose relative target climbs above the image's root",
                    path,
                )
                .detail(format!("-> {target}")),
            ),
            Node::Hardlink { target } => match self.nodes.get(target).map(|p| &p.node) {
                Some(Node::File { .. } | Node::Hardlink { .. }) => {}
                _ => {
                    findings.push(
                        self.finding(
                            Check::LayerHardlinkDangling,
                            Severity::High,
                            "a hardlink to a file the image does not have",
                            path,
                        )
                        .detail(format!("links to {target}")),
                    );
                    return false;
                }
            },
            _ => {}
        }
        // A non-directory replaces whatever was at the path, and everything below it.
        if !matches!(node, Node::Dir { .. }) {
            self.remove_lower(path);
        }
        if self.nodes.insert(path.to_owned(), Placed { node, layer: self.layer }).is_none() {
            self.names_bytes += path.len() as u64;
        }
        true
    }
}

/// Whether a relative symlink target, resolved from the link's directory, climbs
/// above the root (absolute targets resolve inside the container's root).
fn escapes_root(path: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth: i64 = path.split('/').count() as i64 - 1;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Node {
        Node::File { size: 1, mode: 0o644 }
    }

    #[test]
    fn whiteouts_remove_lower_layers_only() {
        let mut v = View::new();
        let mut f = Findings::default();
        v.begin_layer("l0");
        for p in ["etc/a", "etc/b", "opt/x/1", "opt/x/2", "keep"] {
            assert!(v.apply(p, file(), &mut f));
        }
        v.begin_layer("l1");
        assert!(v.apply("opt/x/3", file(), &mut f));
        assert!(!v.apply("etc/.wh.a", file(), &mut f));
        assert!(!v.apply("opt/x/.wh..wh..opq", file(), &mut f));
        let paths: Vec<&str> = v.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["etc/b", "keep", "opt/x/3"]);
        assert_eq!(v.get("opt/x/3").unwrap().layer, 1);
        assert!(f.is_empty(), "{f:?}");
        assert_eq!(v.names_bytes(), "etc/b".len() as u64 + "keep".len() as u64 + "opt/x/3".len() as u64);
    }

    #[test]
    fn unsafe_links_and_duplicates_are_findings() {
        let mut v = View::new();
        let mut f = Findings::default();
        v.begin_layer("l0");
        assert!(v.apply("root", Node::Symlink { target: "/".into() }, &mut f));
        assert!(!v.apply("root/etc/passwd", file(), &mut f));
        assert!(v.apply("a/up", Node::Symlink { target: "../../etc".into() }, &mut f));
        assert!(v.apply("a/ok", Node::Symlink { target: "../etc".into() }, &mut f));
        assert!(!v.apply("h", Node::Hardlink { target: "missing".into() }, &mut f));
        assert!(v.apply("d", file(), &mut f));
        assert!(v.apply("d", file(), &mut f));
        for bad in ["etc/.wh.", "etc/.wh..", "etc/.wh..."] {
            assert!(!v.apply(bad, file(), &mut f));
        }
        let f = f.into_vec();
        let checks: Vec<&str> = f.iter().map(|x| x.check.id()).collect();
        assert_eq!(
            checks,
            [
                Check::LayerThroughSymlink,
                Check::LayerLinkOutside,
                Check::LayerHardlinkDangling,
                Check::LayerDuplicateEntry,
                Check::LayerWhiteoutInvalid,
                Check::LayerWhiteoutInvalid,
                Check::LayerWhiteoutInvalid
            ]
        );
        assert_eq!(f[0].evidence.detail.as_deref(), Some("root -> /"));
        assert_eq!(f[6].evidence.detail.as_deref(), Some("whiteout of \"..\""));
    }
}
