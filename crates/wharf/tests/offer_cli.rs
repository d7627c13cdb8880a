//! `wharf offer init` and `wharf offer validate`, as a publisher runs them: offline,
//! on files in a directory.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::wharf;

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let env = [("HOME".to_owned(), dir.display().to_string())];
    let out = wharf(args, &env).current_dir(dir).stdin(Stdio::null()).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn png(path: &Path, width: u32, height: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(width, height, image::Rgb([20, 90, 160])).save(path).unwrap();
}

#[test]
fn init_writes_a_starter_file_that_validates_once_its_icons_exist() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run(d, &["offer", "init", "--id", "contoso-db", "--publisher", "contoso"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(d.join("offer.yaml")).unwrap();
    assert!(text.contains("id: contoso-db") && text.contains("repository: contoso/example-db"), "{text}");
    assert!(text.starts_with("# yaml-language-server: $schema=http://127.0.0.1:5000/api/v1/schemas/offer.json"));

    let again = run(d, &["offer", "init", "--id", "contoso-db", "--publisher", "contoso"]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("exists; pass --force"), "{}", again.stderr);
    let bad = run(d, &["offer", "init", "--id", "Contoso DB", "-f", "other.yaml"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--id: may contain only lowercase letters"), "{}", bad.stderr);

    // The icons it names are missing: four errors, each with its path.
    let out = run(d, &["offer", "validate", "offer.yaml"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, "", "the problems are the output, not an error message");
    for slot in ["small", "medium", "large", "wide"] {
        assert!(out.stdout.contains(&format!("error: media.icons.{slot}: cannot read ")), "{}", out.stdout);
    }
    assert!(out.stdout.ends_with("offer.yaml: 4 errors, 0 warnings\n"), "{}", out.stdout);

    png(&d.join("media/icon-48x48.png"), 48, 48);
    png(&d.join("media/icon-90x90.png"), 90, 90);
    png(&d.join("media/icon-216x216.png"), 216, 216);
    png(&d.join("media/icon-255x115.png"), 255, 115);
    let out = run(d, &["offer", "validate", "offer.yaml"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "offer.yaml: valid\n"), "{}", out.stderr);
}

#[test]
fn validate_names_every_problem_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(run(d, &["offer", "init", "--publisher", "contoso"]).code, 0);
    png(&d.join("media/icon-48x48.png"), 48, 48);
    png(&d.join("media/icon-90x90.png"), 91, 90);
    std::fs::write(d.join("media/icon-216x216.png"), "<svg onload=\"alert(1)\"><script>alert(1)</script></svg>")
        .unwrap();
    std::fs::write(d.join("media/icon-255x115.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let text = std::fs::read_to_string(d.join("offer.yaml"))
        .unwrap()
        .replace("id: example-db", "id: example-db\nnmae: typo")
        .replace("    keywords:", "    keywordz: [x]\n    keywords:")
        .replace("tags: [\"1.0.0\"]", "tags: [\"1.0.0\", latest]")
        .replace("  - id: standard", "  - id: standard\n    name: Standard\n    pricing: {model: free}\n    images: [{repository: contoso/a, tags: [\"1.0.0\"]}]\n    deployment: {kind: container, template: run}\n  - id: standard");
    std::fs::write(d.join("offer.yaml"), text).unwrap();
    let out = run(d, &["offer", "validate", "offer.yaml", "--output", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let found: Vec<(String, String)> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["pointer"].as_str().unwrap().to_owned(), p["message"].as_str().unwrap().to_owned()))
        .collect();
    let has = |pointer: &str, text: &str| found.iter().any(|(p, m)| p == pointer && m.contains(text));
    assert!(has("/nmae", "is not a known field"), "{found:#?}");
    assert!(has("/listings/en-US/keywordz", "is not a known field"), "{found:#?}");
    assert!(has("/plans/1/id", "repeats plan id \"standard\""), "{found:#?}");
    assert!(has("/plans/1/images/0/tags/1", "\"latest\" is not a version tag"), "{found:#?}");
    assert!(has("/media/icons/medium", "must be 90×90 pixels (is 91×90)"), "{found:#?}");
    assert!(has("/media/icons/large", "is an SVG"), "{found:#?}");
    assert!(has("/media/icons/wide", "is not a readable image/png image"), "{found:#?}");
    assert_eq!(v["errors"], found.len(), "{found:#?}");

    std::fs::write(d.join("broken.yaml"), "id: [unclosed").unwrap();
    let out = run(d, &["offer", "validate", "broken.yaml"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.starts_with("error: "), "{}", out.stdout);
    let out = run(d, &["offer", "validate", "missing.yaml"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("cannot read missing.yaml"), "{}", out.stderr);
}
