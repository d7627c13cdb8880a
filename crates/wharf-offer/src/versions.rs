//! Rules between a draft and the versions submitted before it: what may not change
//! once submitted, and version tags that only go up.

use std::collections::BTreeMap;

use crate::ids::VersionTag;
use crate::problem::{FieldPath, Problems};
use crate::spec::OfferSpec;

/// Checks `draft` against `earlier` versions (oldest first; cancelled ones left out):
/// - a plan once submitted stays (stop-sell it instead) and keeps its pricing model;
/// - a plan keeps every repository and tag it delivered (customers may stay on a version);
/// - a tag new to a plan's repository is greater than every tag it delivered before.
pub fn check_against_earlier(draft: &OfferSpec, earlier: &[(i64, OfferSpec)]) -> Problems {
    let mut p = Problems::new();
    let plans = FieldPath::root().key("plans");
    // Per plan id: (version that last had it, its pricing model), and per repository
    // every tag it delivered with the version that first did.
    let mut models: BTreeMap<&str, (i64, Option<&str>)> = BTreeMap::new();
    let mut delivered: BTreeMap<(&str, &str), BTreeMap<&str, i64>> = BTreeMap::new();
    for (version, spec) in earlier {
        for plan in &spec.plans {
            let Some(id) = plan.id.as_deref() else { continue };
            models.insert(id, (*version, plan.pricing.as_ref().and_then(|x| x.model.as_deref())));
            for image in &plan.images {
                let Some(repo) = image.repository.as_deref() else { continue };
                let tags = delivered.entry((id, repo)).or_default();
                for t in &image.tags {
                    tags.entry(t.as_str()).or_insert(*version);
                }
            }
        }
    }
    for (id, (version, _)) in &models {
        if !draft.plans.iter().any(|pl| pl.id.as_deref() == Some(id)) {
            p.error(
                &plans,
                format!("must keep plan {id:?}, submitted in version {version}: stop-sell it instead of removing it"),
            );
        }
    }
    for (i, plan) in draft.plans.iter().enumerate() {
        let Some(id) = plan.id.as_deref() else { continue };
        let here = plans.index(i);
        if let Some((version, Some(was))) = models.get(id) {
            let now = plan.pricing.as_ref().and_then(|x| x.model.as_deref());
            if now.is_some_and(|m| m != *was) {
                p.error(
                    &here.key("pricing").key("model"),
                    format!("cannot change once the plan is submitted (was {was} in version {version})"),
                );
            }
        }
        for ((plan_id, repo), tags) in delivered.iter().filter(|((pid, _), _)| *pid == id) {
            let _ = plan_id;
            let Some((j, image)) =
                plan.images.iter().enumerate().find(|(_, im)| im.repository.as_deref() == Some(*repo))
            else {
                p.error(
                    &here.key("images"),
                    format!(
                        "must keep repository {repo}, delivered since version {}",
                        tags.values().min().unwrap_or(&0)
                    ),
                );
                continue;
            };
            let tpath = here.key("images").index(j).key("tags");
            for (tag, version) in tags {
                if !image.tags.iter().any(|t| t == tag) {
                    p.error(&tpath, format!("must keep tag {tag}, delivered since version {version}"));
                }
            }
            let highest = tags.keys().filter_map(|t| t.parse::<VersionTag>().ok()).max();
            for (k, tag) in image.tags.iter().enumerate() {
                if tags.contains_key(tag.as_str()) {
                    continue;
                }
                if let (Ok(new), Some(top)) = (tag.parse::<VersionTag>(), &highest)
                    && new <= *top
                {
                    p.error(
                        &tpath.index(k),
                        format!("{tag} is new, so it must be greater than {top}, the highest tag delivered before"),
                    );
                }
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Format, parse};

    fn spec(yaml: &str) -> OfferSpec {
        parse::<OfferSpec>(yaml.as_bytes(), Format::Yaml).unwrap().0
    }

    #[test]
    fn submitted_plans_tags_and_models_hold() {
        let v1 = spec(
            "plans:\n  - id: basic\n    pricing: {model: free}\n    images: [{repository: c/db, tags: [1.0.0, 1.1.0]}]\n  - id: pro\n    pricing: {model: byol}\n",
        );
        let ok = spec(
            "plans:\n  - id: basic\n    pricing: {model: free}\n    images: [{repository: c/db, tags: [1.0.0, 1.1.0, 1.2.0]}]\n  - id: pro\n    pricing: {model: byol}\n",
        );
        assert!(check_against_earlier(&ok, &[(1, v1.clone())]).is_empty());
        let bad = spec(
            "plans:\n  - id: basic\n    pricing: {model: flat_monthly}\n    images: [{repository: c/db, tags: [1.1.0, 1.0.5, 2.0.0-rc1]}]\n",
        );
        let found: Vec<String> =
            check_against_earlier(&bad, &[(1, v1)]).all().iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "error: plans: must keep plan \"pro\", submitted in version 1: stop-sell it instead of removing it",
                "error: plans[0].pricing.model: cannot change once the plan is submitted (was free in version 1)",
                "error: plans[0].images[0].tags: must keep tag 1.0.0, delivered since version 1",
                "error: plans[0].images[0].tags[1]: 1.0.5 is new, so it must be greater than 1.1.0, the highest tag delivered before",
            ]
        );
    }
}
