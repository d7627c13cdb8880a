//! Renderings of a report: for people, SARIF 2.1.0 (code scanning tools) and JUnit
//! XML (CI systems). The JSON rendering is the report itself (`serde_json`).

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::json;

use crate::certify::{Report, Reported, Verdict};
use crate::finding::Severity;

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    }
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
    }
}

/// Text from the image (file names, labels, package names, messages quoting them)
/// made safe for a terminal: control characters (ESC and so ANSI sequences, CR,
/// newlines, C1 controls), bidirectional overrides and invisible format characters
/// are written as escapes, so a name can neither move the cursor, recolour the
/// report, forge a line, nor reorder what is shown.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
    };
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && unsafe_char(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn line(out: &mut String, r: &Reported) {
    let f = &r.finding;
    let _ = write!(
        out,
        "  {} {:<8} {:<30} {}",
        if r.blocking { "BLOCK" } else { "warn " },
        severity(f.severity),
        f.check,
        terminal_safe(&f.message)
    );
    if let Some(p) = &f.evidence.path {
        let _ = write!(out, "\n        path: {}", terminal_safe(p));
    }
    for l in evidence_lines(r) {
        let _ = write!(out, "\n        {}", terminal_safe(&l));
    }
    out.push('\n');
}

/// The evidence beyond the message and path, a `key: value` line each.
fn evidence_lines(r: &Reported) -> Vec<String> {
    let e = &r.finding.evidence;
    let mut lines = Vec::new();
    if let Some(d) = &e.detail {
        lines.push(format!("evidence: {d}"));
    }
    if let Some(p) = &e.package {
        lines.push(format!("package: {p} {}", e.version.as_deref().unwrap_or("")).trim_end().to_owned());
    }
    if let Some(a) = &e.advisory {
        let aliases = if e.aliases.is_empty() { String::new() } else { format!(" ({})", e.aliases.join(", ")) };
        lines.push(format!("advisory: {a}{aliases}"));
    }
    if let (Some(score), Some(vector)) = (e.cvss, &e.vector) {
        lines.push(format!("cvss: {score:.1} {vector}"));
    }
    if let Some(f) = &e.fixed {
        lines.push(format!("fixed in: {f}"));
    }
    if let Some(x) = &e.remediation {
        lines.push(format!("remediation: {x}"));
    }
    if let Some(x) = &r.exception {
        lines.push(format!(
            "exception: {} (by {}, {} {})",
            x.reason,
            x.author,
            if x.expired { "expired" } else { "until" },
            x.expires
        ));
    }
    if let Some(l) = &e.layer {
        lines.push(format!("layer: {l}"));
    }
    lines
}

/// The report for people: every finding, never truncated.
pub fn human(report: &Report) -> String {
    let mut out = format!("{}: {}\n", terminal_safe(&report.image), verdict(report.verdict));
    match &report.advisories {
        Some(a) => {
            let _ = writeln!(
                out,
                "  advisories: {} (snapshot {}, imported {})",
                a.advisories,
                terminal_safe(&a.snapshot),
                terminal_safe(&a.imported_at)
            );
        }
        None => out.push_str("  advisories: none imported\n"),
    }
    for r in &report.image_findings {
        line(&mut out, r);
    }
    for p in &report.platforms {
        let files = p.files;
        let _ = writeln!(
            out,
            "\n{} ({}): {}, {} layer{}, {files} file{}",
            terminal_safe(&p.platform),
            terminal_safe(&p.manifest),
            verdict(p.verdict),
            p.layers.len(),
            if p.layers.len() == 1 { "" } else { "s" },
            if files == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            out,
            "  {} package{} found{}",
            p.components.len(),
            if p.components.len() == 1 { "" } else { "s" },
            p.distro.as_deref().map(|d| format!(" ({})", terminal_safe(d))).unwrap_or_default()
        );
        if p.findings.is_empty() {
            out.push_str("  no findings\n");
        }
        for r in &p.findings {
            line(&mut out, r);
        }
    }
    let counts: Vec<String> = report.summary.iter().map(|(s, n)| format!("{n} {}", severity(*s))).collect();
    let _ =
        writeln!(out, "\nsummary: {}", if counts.is_empty() { "no findings".to_owned() } else { counts.join(", ") });
    out
}

fn all(report: &Report) -> impl Iterator<Item = (Option<&str>, &Reported)> {
    report
        .image_findings
        .iter()
        .map(|r| (None, r))
        .chain(report.platforms.iter().flat_map(|p| p.findings.iter().map(move |r| (Some(p.platform.as_str()), r))))
}

/// SARIF 2.1.0: one run, one rule per check, one result per finding.
pub fn sarif(report: &Report) -> serde_json::Value {
    let mut rules: Vec<&str> = all(report).map(|(_, r)| r.finding.check.id()).collect();
    rules.sort_unstable();
    rules.dedup();
    let results: Vec<serde_json::Value> = all(report)
        .map(|(platform, r)| {
            let f = &r.finding;
            let level = if r.blocking {
                "error"
            } else if f.severity <= Severity::Medium {
                "warning"
            } else {
                "note"
            };
            let mut result = json!({
                "ruleId": f.check,
                "level": level,
                "message": {"text": f.message},
                "properties": {
                    "severity": severity(f.severity),
                    "blocking": r.blocking,
                    "platform": platform,
                    "evidence": f.evidence,
                    "exception": r.exception,
                },
            });
            if let Some(path) = &f.evidence.path {
                result["locations"] = json!([{"physicalLocation": {"artifactLocation": {"uri": path}}}]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "wharf-certify",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/wharf",
                "rules": rules.iter().map(|r| json!({"id": r, "shortDescription": {"text": r}})).collect::<Vec<_>>(),
            }},
            "automationDetails": {"id": report.image},
            "results": results,
        }],
    })
}

fn xml(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&apos;".to_owned(),
            other => other.to_string(),
        })
        .collect()
}

/// JUnit XML: a test suite per platform, a test case per finding (blocking ones fail)
/// and one for the platform's verdict.
pub fn junit(report: &Report) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures) = (0, 0);
    let mut suite = |name: &str, findings: &[&Reported], pass: bool| {
        let mut cases = String::new();
        let mut failed = 0;
        for r in findings {
            let f = &r.finding;
            let name = f.evidence.path.clone().unwrap_or_else(|| f.message.clone());
            let _ = write!(cases, r#"    <testcase classname="{}" name="{}">"#, xml(f.check.id()), xml(&name));
            let mut body = format!("{}\nseverity: {}", f.message, severity(f.severity));
            for l in evidence_lines(r) {
                body.push('\n');
                body.push_str(&l);
            }
            if r.blocking {
                failed += 1;
                let _ = write!(
                    cases,
                    r#"<failure message="{}" type="{}">{}</failure>"#,
                    xml(&f.message),
                    severity(f.severity),
                    xml(&body)
                );
            } else {
                let _ = write!(cases, "<system-out>{}</system-out>", xml(&body));
            }
            cases.push_str("</testcase>\n");
        }
        let _ = write!(cases, r#"    <testcase classname="verdict" name="{}">"#, xml(name));
        if !pass {
            failed += 1;
            cases.push_str(r#"<failure message="the platform fails certification" type="verdict"/>"#);
        }
        cases.push_str("</testcase>\n");
        let count = findings.len() + 1;
        tests += count;
        failures += failed;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{count}\" failures=\"{failed}\">\n{cases}  </testsuite>\n",
            xml(name)
        );
    };
    if !report.image_findings.is_empty() {
        let f: Vec<&Reported> = report.image_findings.iter().collect();
        suite("image", &f, !f.iter().any(|r| r.blocking));
    }
    for p in &report.platforms {
        let f: Vec<&Reported> = p.findings.iter().collect();
        suite(&p.platform, &f, p.verdict == Verdict::Pass);
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"wharf certify {}\" tests=\"{tests}\" failures=\"{failures}\">\n{suites}</testsuites>\n",
        xml(&report.image)
    )
}
