//! A health grade for a certified image, in the spirit of Red Hat's Container Health
//! Index: what counts is the worst vulnerability that could be fixed and is not, and
//! how long its fix has been available.
//!
//! Only critical and high vulnerabilities with a fixed version count, unless an
//! exception in force accepts them. The fix's age is the time since the advisory was
//! published (OSV `published`; its `modified` when the record has none). Grades:
//! **A** none; **B** the oldest such fix is at most 90 days old; **C** 180; **D** 270;
//! **E** 365; **F** older.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::advisories::Advisory;
use crate::check::Check;
use crate::finding::{Reported, Severity};

/// A health grade, A (best) to F.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grade {
    /// No unfixed critical or high vulnerability with a fix available.
    A,
    /// Fixes available for at most 90 days.
    B,
    /// At most 180 days.
    C,
    /// At most 270 days.
    D,
    /// At most 365 days.
    E,
    /// Longer.
    F,
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
            Grade::E => "E",
            Grade::F => "F",
        })
    }
}

/// A grade with what decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The grade.
    pub grade: Grade,
    /// Why, in words: the finding that decided it, or that none did.
    pub reason: String,
}

/// Days from `from` to `to`, both RFC 3339 dates or times (`YYYY-MM-DD…`).
fn days_between(from: &str, to: &str) -> Option<i64> {
    let day = |s: &str| -> Option<i64> {
        let d = s.get(..10)?;
        let mut parts = d.split('-');
        let (y, m, dd): (i64, i64, i64) =
            (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
        // Days since 1970-01-01 (civil calendar; Howard Hinnant's algorithm).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + dd - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(era * 146_097 + doe - 719_468)
    };
    Some(day(to)? - day(from)?)
}

/// The grade of `findings` (a report's, or a re-evaluation's), `today` being
/// `YYYY-MM-DD`; `advisories` by id give the fixes' ages.
pub fn grade(findings: &[Reported], advisories: &HashMap<&str, &Advisory>, today: &str) -> Health {
    let mut worst: Option<(i64, &Reported)> = None;
    for r in findings {
        let f = &r.finding;
        let accepted = r.exception.as_ref().is_some_and(|e| !e.expired);
        if f.check != Check::Vulnerability || f.severity > Severity::High || f.evidence.fixed.is_none() || accepted {
            continue;
        }
        let Some(advisory) = f.evidence.advisory.as_deref().and_then(|id| advisories.get(id)) else { continue };
        let since = advisory.published.as_deref().unwrap_or(&advisory.modified);
        let age = days_between(since, today).unwrap_or(0).max(0);
        if worst.is_none_or(|(a, _)| age > a) {
            worst = Some((age, r));
        }
    }
    let Some((age, r)) = worst else {
        return Health { grade: Grade::A, reason: "no critical or high vulnerability with a fix available".into() };
    };
    let grade = match age {
        0..=90 => Grade::B,
        91..=180 => Grade::C,
        181..=270 => Grade::D,
        271..=365 => Grade::E,
        _ => Grade::F,
    };
    let e = &r.finding.evidence;
    Health {
        grade,
        reason: format!(
            "{} {} has {} (fixed in {}, published {age} day(s) ago)",
            e.package.as_deref().unwrap_or("a package"),
            e.version.as_deref().unwrap_or(""),
            e.advisory.as_deref().unwrap_or("an advisory"),
            e.fixed.as_deref().unwrap_or("?"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Evidence, Finding};

    fn advisory(id: &str, published: &str) -> Advisory {
        serde_json::from_value(serde_json::json!({
            "id": id, "summary": "", "modified": "2026-12-01T00:00:00Z", "published": published, "affected": []
        }))
        .unwrap()
    }

    fn vuln(id: &str, severity: Severity, fixed: Option<&str>) -> Reported {
        Reported {
            finding: Finding {
                check: Check::Vulnerability,
                severity,
                message: String::new(),
                evidence: Evidence {
                    package: Some("openssl".into()),
                    version: Some("1.0".into()),
                    advisory: Some(id.into()),
                    fixed: fixed.map(str::to_owned),
                    ..Evidence::default()
                },
            },
            blocking: true,
            exception: None,
        }
    }

    #[test]
    fn the_oldest_available_fix_of_a_critical_or_high_vulnerability_decides() {
        let list = [
            advisory("CVE-NEW", "2026-11-20T00:00:00Z"),
            advisory("CVE-OLD", "2025-10-01T00:00:00Z"),
            advisory("CVE-MID", "2026-06-01T00:00:00Z"),
        ];
        let by_id: HashMap<&str, &Advisory> = list.iter().map(|a| (a.id.as_str(), a)).collect();
        let today = "2026-12-06";
        let cases: &[(&[Reported], Grade)] = &[
            (&[], Grade::A),
            (&[vuln("CVE-OLD", Severity::Medium, Some("2.0"))], Grade::A),
            (&[vuln("CVE-OLD", Severity::Critical, None)], Grade::A),
            (&[vuln("CVE-NEW", Severity::High, Some("2.0"))], Grade::B),
            (&[vuln("CVE-NEW", Severity::High, Some("2.0")), vuln("CVE-MID", Severity::Critical, Some("2"))], Grade::D),
            (&[vuln("CVE-OLD", Severity::High, Some("2.0"))], Grade::F),
        ];
        for (findings, expected) in cases {
            let h = grade(findings, &by_id, today);
            assert_eq!(h.grade, *expected, "{findings:?}: {}", h.reason);
        }
        let h = grade(&[vuln("CVE-MID", Severity::High, Some("2.1"))], &by_id, today);
        assert_eq!(h.reason, "openssl 1.0 has CVE-MID (fixed in 2.1, published 188 day(s) ago)");
        assert_eq!(days_between("2024-02-28", "2024-03-01"), Some(2));
    }
}
