//! Real OCI tools for tests: skopeo and umoci (Debian's packages), to build images
//! and copy them. `.ci/run` installs them; without them tests fail and say how to
//! install them.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn tool(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()));
    found.unwrap_or_else(|| panic!("{name} is not installed: `apt-get install skopeo umoci` (`.ci/run` does)"))
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn umoci(args: &[&str]) -> String {
    run(Command::new(tool("umoci")).args(args))
}

pub fn skopeo(args: &[&str]) -> String {
    run(Command::new(tool("skopeo")).args(args))
}

/// Builds `layout:tag`, an image of `layers` layers for `arch`, with umoci.
pub fn build_image(layout: &Path, tag: &str, arch: &str, layers: usize) {
    let layout_s = layout.to_str().unwrap();
    if !layout.join("index.json").exists() {
        umoci(&["init", "--layout", layout_s]);
    }
    let image = format!("{layout_s}:{tag}");
    umoci(&["new", "--image", &image]);
    // Each layer is the difference between a fresh unpack and what was added to it.
    for i in 0..layers {
        let bundle = layout.with_file_name(format!("bundle-{tag}-{i}"));
        umoci(&["unpack", "--rootless", "--image", &image, bundle.to_str().unwrap()]);
        let dir = bundle.join("rootfs").join(format!("layer{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let content: Vec<u8> = (0..200_000u32).map(|x| ((x * (i as u32 + 3)) % 251) as u8).collect();
        std::fs::write(dir.join("data.bin"), content).unwrap();
        std::fs::write(dir.join("note.txt"), format!("{arch} layer {i}\n")).unwrap();
        umoci(&["repack", "--image", &image, bundle.to_str().unwrap()]);
        std::fs::remove_dir_all(&bundle).ok();
    }
    umoci(&["config", "--image", &image, "--architecture", arch, "--os", "linux", "--config.user", "1000"]);
}

/// Builds `layout:tag`, an amd64 image of Debian's static busybox serving "hello from
/// wharf" over HTTP on `port`, as user 1000, with umoci.
pub fn build_web_image(layout: &Path, tag: &str, port: u16) {
    let busybox = tool("busybox");
    let layout_s = layout.to_str().unwrap();
    if !layout.join("index.json").exists() {
        umoci(&["init", "--layout", layout_s]);
    }
    let image = format!("{layout_s}:{tag}");
    umoci(&["new", "--image", &image]);
    let bundle = layout.with_file_name(format!("bundle-web-{tag}"));
    umoci(&["unpack", "--rootless", "--image", &image, bundle.to_str().unwrap()]);
    let root = bundle.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("www")).unwrap();
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    std::fs::write(root.join("www/index.html"), "hello from wharf\n").unwrap();
    umoci(&["repack", "--image", &image, bundle.to_str().unwrap()]);
    std::fs::remove_dir_all(&bundle).ok();
    let port = port.to_string();
    let mut args =
        vec!["config", "--image", &image, "--architecture", "amd64", "--os", "linux", "--config.user", "1000"];
    args.extend(["--config.entrypoint", "/bin/busybox"]);
    for arg in ["httpd", "-f", "-p", &port, "-h", "/www"] {
        args.extend(["--config.cmd", arg]);
    }
    umoci(&args);
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The descriptor `index.json` names `tag` with.
pub fn tagged(layout: &Path, tag: &str) -> serde_json::Value {
    let index = read_json(&layout.join("index.json"));
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in {index}"))
        .clone()
}

pub fn blob_path(layout: &Path, digest: &str) -> PathBuf {
    let (alg, hex) = digest.split_once(':').unwrap();
    layout.join("blobs").join(alg).join(hex)
}
