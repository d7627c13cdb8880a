//! The rules of plans: pricing, deployment (container, Compose, Kubernetes manifests)
//! and the parameters customers fill in.

use super::*;

impl Checker<'_> {
    pub(super) fn plan(&mut self, plan: &Plan, publisher: Option<&str>, path: &FieldPath) {
        let p = path.key("id");
        if self.required(&plan.id, &p)
            && let Some(id) = &plan.id
        {
            self.rule(&p, id.parse::<PlanId>().map(drop));
        }
        let p = path.key("name");
        if self.required(&plan.name, &p)
            && let Some(n) = &plan.name
        {
            self.rule(&p, text::one_line(n, 200));
        }
        if let Some(d) = &plan.description {
            self.rule(&path.key("description"), text::multi_line(d, 2_000));
        }
        let p = path.key("pricing");
        if self.required(&plan.pricing, &p)
            && let Some(pricing) = &plan.pricing
        {
            self.pricing(pricing, &p);
        }
        let p = path.key("visibility");
        let audience = path.key("audience");
        match plan.visibility.as_deref() {
            None | Some("public") => {
                if !plan.audience.is_empty() {
                    self.p.error(&audience, "is only for private plans; set visibility: private or remove it");
                }
            }
            Some("private") => {
                if plan.audience.is_empty() {
                    self.p.error(&audience, "must list at least one customer organization for a private plan");
                }
                self.most(&plan.audience, MAX_PLAN_AUDIENCE, &audience, "tenants");
            }
            Some(other) => self.p.error(&p, format!("must be public or private (got {other:?})")),
        }
        self.tenants(&plan.audience, &audience);
        let p = path.key("images");
        if plan.images.is_empty() && self.submit {
            self.p.error(&p, "needs at least one image");
        }
        let mut total_tags = 0;
        for (i, image) in plan.images.iter().enumerate() {
            let here = p.index(i);
            let r = here.key("repository");
            if self.required(&image.repository, &r)
                && let Some(repo) = &image.repository
            {
                match repo.parse::<RepositoryName>() {
                    Err(e) => self.p.error(&r, format!("is not a repository name: {e}")),
                    Ok(name) => {
                        if let Some(publisher) = publisher
                            && publisher.parse::<OrgName>().is_ok()
                            && name.namespace() != publisher
                        {
                            self.p.error(
                                &r,
                                format!(
                                    "must be a repository of the publisher organization {publisher} ({publisher}/…)"
                                ),
                            );
                        }
                    }
                }
            }
            let t = here.key("tags");
            if image.tags.is_empty() && self.submit {
                self.p.error(&t, "needs at least one version tag");
            }
            for (j, tag) in image.tags.iter().enumerate() {
                self.rule(&t.index(j), tag.parse::<VersionTag>().map(drop));
            }
            self.unique(image.tags.iter().map(|s| Some(s.as_str())), |i| t.index(i), str::to_owned);
            total_tags += image.tags.len();
        }
        if total_tags > MAX_TAGS_PER_PLAN {
            self.p.error(&p, format!("may deliver at most {MAX_TAGS_PER_PLAN} tags in all (lists {total_tags})"));
        }
        self.unique(
            plan.images.iter().map(|i| i.repository.as_deref()),
            |i| p.index(i).key("repository"),
            str::to_owned,
        );
        let p = path.key("deployment");
        if self.required(&plan.deployment, &p)
            && let Some(d) = &plan.deployment
        {
            self.deployment(d, plan, &p);
        }
    }

    pub(super) fn pricing(&mut self, pricing: &Pricing, path: &FieldPath) {
        let model = path.key("model");
        let price = path.key("price");
        let currency = path.key("currency");
        let paid = match pricing.model.as_deref() {
            None => {
                self.p.error(&model, "is required: free, byol, flat_monthly or per_core_hour");
                return;
            }
            Some("free" | "byol") => false,
            Some("flat_monthly" | "per_core_hour") => true,
            Some(other) => {
                self.p.error(&model, format!("must be free, byol, flat_monthly or per_core_hour (got {other:?})"));
                return;
            }
        };
        let dims = path.key("dimensions");
        if !paid && !pricing.dimensions.is_empty() {
            self.p.error(&dims, "are only for flat_monthly and per_core_hour plans");
        }
        self.most(&pricing.dimensions, 10, &dims, "dimensions");
        for (i, d) in pricing.dimensions.iter().enumerate() {
            let here = dims.index(i);
            if self.required(&d.id, &here.key("id"))
                && let Some(id) = &d.id
            {
                if id == crate::spec::CORE_HOURS {
                    self.p.error(&here.key("id"), "core_hours is the dimension of per_core_hour plans; name another");
                } else {
                    self.rule(&here.key("id"), id.parse::<PlanId>().map(drop));
                }
            }
            if self.required(&d.name, &here.key("name"))
                && let Some(n) = &d.name
            {
                self.rule(&here.key("name"), text::one_line(n, 100));
            }
            if self.required(&d.unit, &here.key("unit"))
                && let Some(u) = &d.unit
            {
                self.rule(&here.key("unit"), text::one_line(u, 32));
            }
            if self.required(&d.price, &here.key("price"))
                && let Some(p) = &d.price
            {
                self.rule(&here.key("price"), decimal_price(p));
            }
        }
        self.unique(pricing.dimensions.iter().map(|d| d.id.as_deref()), |i| dims.index(i).key("id"), str::to_owned);
        if !paid {
            if pricing.price.is_some() {
                self.p.error(&price, "is only for flat_monthly and per_core_hour plans");
            }
            if pricing.currency.is_some() {
                self.p.error(&currency, "is only for flat_monthly and per_core_hour plans");
            }
            return;
        }
        match &pricing.price {
            None => self.p.error(&price, "is required for a paid plan, e.g. \"49.00\""),
            Some(p) => self.rule(&price, decimal_price(p)),
        }
        match &pricing.currency {
            None => self.p.error(&currency, "is required for a paid plan, e.g. USD"),
            Some(c) if c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()) => {}
            Some(c) => self.p.error(&currency, format!("must be an ISO 4217 code such as USD or EUR (got {c:?})")),
        }
    }

    pub(super) fn deployment(&mut self, d: &Deployment, plan: &Plan, path: &FieldPath) {
        let kind = path.key("kind");
        let k = d.kind.as_deref();
        match k {
            None => self.p.error(&kind, "is required: kubernetes, compose, container or helm"),
            Some("kubernetes" | "compose" | "container" | "helm") => {}
            Some(other) => {
                self.p.error(&kind, format!("must be kubernetes, compose, container or helm (got {other:?})"))
            }
        }
        let repos: HashSet<&str> = plan.images.iter().filter_map(|i| i.repository.as_deref()).collect();
        match (k, &d.chart) {
            (Some("helm"), None) => {
                self.p.error(&path.key("chart"), "is required for helm: the repository of the chart")
            }
            (Some("helm"), Some(c)) if !repos.contains(c.as_str()) => {
                self.p.error(&path.key("chart"), format!("{c:?} is not one of the plan's image repositories"))
            }
            (Some("helm"), Some(_)) | (_, None) => {}
            (_, Some(_)) => self.p.error(&path.key("chart"), "is only for helm deployments"),
        }
        let params = path.key("parameters");
        self.most(&d.parameters, 50, &params, "parameters");
        let mut names: HashSet<String> = HashSet::new();
        for (i, param) in d.parameters.iter().enumerate() {
            self.parameter(param, &params.index(i));
            if let Some(n) = &param.name {
                names.insert(n.clone());
            }
        }
        self.unique(d.parameters.iter().map(|p| p.name.as_deref()), |i| params.index(i).key("name"), str::to_owned);
        if let Some(ui) = &d.ui_definition {
            let upath = path.key("ui_definition");
            if !d.parameters.is_empty() {
                self.p.error(&upath, "give parameters or a ui_definition, not both");
            }
            let mapped = crate::ui_definition::map_form(ui);
            for problem in &mapped.problems {
                self.p.error(&upath, format!("{}: {}", problem.pointer, problem.message));
            }
            names.extend(mapped.parameters.iter().filter_map(|p| p.name.clone()));
        }
        let tpath = path.key("template");
        let Some(template) = &d.template else {
            if self.submit {
                self.p.error(&tpath, "is required");
            }
            return;
        };
        if template.trim().is_empty() {
            self.p.error(&tpath, "must not be empty");
            return;
        }
        if template.len() > MAX_TEMPLATE_BYTES {
            self.p.error(&tpath, format!("must be at most {MAX_TEMPLATE_BYTES} bytes (is {})", template.len()));
            return;
        }
        let mut used = HashSet::new();
        for m in PLACEHOLDER.captures_iter(template) {
            let whole = m.get(0).map_or("", |g| g.as_str());
            if whole.starts_with("$$") {
                continue; // `$${` is a literal `${`
            }
            let inner = m.get(1).map_or("", |g| g.as_str()).trim();
            if let Some(repo) = inner.strip_prefix("image:") {
                if !repos.contains(repo) {
                    self.p.error(
                        &tpath,
                        format!("uses ${{image:{repo}}}, but the plan has no image from repository {repo:?}"),
                    );
                }
            } else if names.contains(inner) || inner == "pull_secret" {
                used.insert(inner.to_owned());
            } else {
                self.p.error(&tpath, format!("uses ${{{inner}}}, which is not one of the plan's parameters"));
            }
        }
        for (i, param) in d.parameters.iter().enumerate() {
            if let Some(n) = &param.name
                && PARAMETER_NAME.is_match(n)
                && !used.contains(n.as_str())
            {
                self.p.warning(&params.index(i).key("name"), format!("{n:?} is not used by the template (${{{n}}})"));
            }
        }
        match k {
            Some("kubernetes") => self.yaml_documents(template, &tpath, |doc| {
                let ok = doc.get("apiVersion").is_some_and(|v| v.is_string())
                    && doc.get("kind").is_some_and(|v| v.is_string());
                if ok {
                    Ok(())
                } else {
                    Err("has a document without apiVersion and kind: every document must be a Kubernetes object".into())
                }
            }),
            Some("helm") => self.yaml_documents(template, &tpath, |doc| {
                if doc.is_object() { Ok(()) } else { Err("must be a Helm values file (a YAML mapping)".into()) }
            }),
            Some("compose") => self.yaml_documents(template, &tpath, |doc| {
                if doc.get("services").is_some_and(|v| v.is_object()) {
                    Ok(())
                } else {
                    Err("must be a Compose file with a services: mapping".into())
                }
            }),
            _ => {}
        }
    }

    /// Parses a YAML template (placeholders are plain scalars to YAML) and checks each document.
    pub(super) fn yaml_documents(
        &mut self,
        template: &str,
        path: &FieldPath,
        each: impl Fn(&serde_json::Value) -> Result<(), String>,
    ) {
        use serde::Deserialize;
        let mut count = 0;
        for doc in yaml_serde::Deserializer::from_str(template) {
            match serde_json::Value::deserialize(doc) {
                Err(e) => {
                    self.p.error(path, format!("is not valid YAML: {e}"));
                    return;
                }
                Ok(serde_json::Value::Null) => {}
                Ok(v) => {
                    count += 1;
                    if let Err(e) = each(&v) {
                        self.p.error(path, e);
                        return;
                    }
                }
            }
        }
        if count == 0 {
            self.p.error(path, "holds no YAML document");
        }
    }

    pub(super) fn parameter(&mut self, param: &Parameter, path: &FieldPath) {
        let p = path.key("name");
        match &param.name {
            None => self.p.error(&p, "is required"),
            Some(n) if !PARAMETER_NAME.is_match(n) => self
                .p
                .error(&p, "must be lowercase letters, digits and '_', starting with a letter, at most 64 characters"),
            Some(_) => {}
        }
        match &param.label {
            None => self.p.error(&path.key("label"), "is required"),
            Some(l) => self.rule(&path.key("label"), text::one_line(l, 100)),
        }
        if let Some(d) = &param.description {
            self.rule(&path.key("description"), text::multi_line(d, 500));
        }
        let t = path.key("type");
        let kind = match param.kind.as_deref() {
            None => {
                self.p.error(&t, "is required: string, integer, boolean, choice or secret");
                return;
            }
            Some(k @ ("string" | "integer" | "boolean" | "choice" | "secret")) => k,
            Some(other) => {
                self.p.error(&t, format!("must be string, integer, boolean, choice or secret (got {other:?})"));
                return;
            }
        };
        let only = |field: &str, for_kind: &str| format!("{field} is only for {for_kind} parameters");
        if kind != "integer" {
            if param.min.is_some() {
                self.p.error(&path.key("min"), only("min", "integer"));
            }
            if param.max.is_some() {
                self.p.error(&path.key("max"), only("max", "integer"));
            }
        } else if let (Some(lo), Some(hi)) = (param.min, param.max)
            && lo > hi
        {
            self.p.error(&path.key("max"), format!("must be at least min ({lo})"));
        }
        let mut pattern = None;
        if let Some(pat) = &param.pattern {
            if kind != "string" && kind != "secret" {
                self.p.error(&path.key("pattern"), only("pattern", "string and secret"));
            } else {
                match regex::Regex::new(&format!("^(?:{pat})$")) {
                    Ok(re) => pattern = Some(re),
                    Err(e) => self.p.error(&path.key("pattern"), format!("is not a valid regular expression: {e}")),
                }
            }
        }
        if !param.validations.is_empty() && kind != "string" && kind != "secret" {
            self.p.error(&path.key("validations"), only("validations", "string and secret"));
        }
        for (i, v) in param.validations.iter().enumerate() {
            if let Err(e) = regex::Regex::new(&format!("^(?:{})$", v.pattern)) {
                self.p.error(
                    &path.key("validations").index(i).key("pattern"),
                    format!("is not a valid regular expression: {e}"),
                );
            }
            if let Some(m) = &v.message {
                self.rule(&path.key("validations").index(i).key("message"), text::one_line(m, 200));
            }
        }
        if kind == "choice" {
            if param.choices.is_empty() {
                self.p.error(&path.key("choices"), "must list the allowed values of a choice parameter");
            }
            self.unique(
                param.choices.iter().map(|s| Some(s.as_str())),
                |i| path.key("choices").index(i),
                str::to_owned,
            );
        } else if !param.choices.is_empty() {
            self.p.error(&path.key("choices"), only("choices", "choice"));
        }
        if let Some(n) = param.generate_length {
            if kind != "secret" {
                self.p.error(&path.key("generate_length"), only("generate_length", "secret"));
            } else if !(16..=128).contains(&n) {
                self.p.error(&path.key("generate_length"), format!("must be 16 to 128 (got {n})"));
            }
        }
        if let Some(default) = &param.default {
            let d = path.key("default");
            let fits = match (kind, default) {
                ("string" | "secret", serde_json::Value::String(s)) => match &pattern {
                    Some(re) if !re.is_match(s) => Err("does not match pattern".to_owned()),
                    _ => Ok(()),
                },
                ("integer", serde_json::Value::Number(n)) => match n.as_i64() {
                    None => Err("must be a whole number".to_owned()),
                    Some(v) if param.min.is_some_and(|lo| v < lo) || param.max.is_some_and(|hi| v > hi) => {
                        Err("is outside min..max".to_owned())
                    }
                    Some(_) => Ok(()),
                },
                ("boolean", serde_json::Value::Bool(_)) => Ok(()),
                ("choice", serde_json::Value::String(s)) if param.choices.contains(s) => Ok(()),
                ("choice", _) => Err("must be one of choices".to_owned()),
                _ => Err(format!(
                    "must be {}",
                    match kind {
                        "integer" => "a whole number",
                        "boolean" => "true or false",
                        _ => "text",
                    }
                )),
            };
            self.rule(&d, fits);
            if kind == "secret" {
                self.p.error(&d, "a secret has no default: customers give one, or set generate_length");
            }
        }
    }
}

/// A price: a positive decimal with at most 4 decimals and at most 9 integer digits.
fn decimal_price(s: &str) -> Result<(), String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let ok = !int.is_empty()
        && int.len() <= 9
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.len() <= 4
        && frac.chars().all(|c| c.is_ascii_digit())
        && !(s.contains('.') && frac.is_empty())
        && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    if ok {
        Ok(())
    } else {
        Err(format!("must be a positive amount with at most 4 decimals, e.g. \"49.00\" (got {s:?})"))
    }
}
