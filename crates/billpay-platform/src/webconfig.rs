//! The runtime settings a web app reads from its `config.json`, for one app in one environment:
//! the API's origin, the flag set and its read-only client key, the app's id, where the customer
//! app of each A/B variant lives, and whether staff sign in through single sign-on. `billpayctl deploy frontend` (and the MCP tool) uploads it with each
//! app, so nothing about a deployment is built into the bundles.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::manifest::Manifest;

/// The flag set the web apps read.
pub const WEB_FLAG_SET: &str = "billpay-web";

/// Why an app's settings cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("no environment `{0}` in the manifest")]
    UnknownEnvironment(String),
    #[error("no frontend `{0}` in the manifest")]
    UnknownApp(String),
    #[error("environment `{0}` has no domain, so the API's origin is not known: give it (--api-origin https://…)")]
    NoApiOrigin(String),
    #[error(
        "environment `{env}` has no domain, so where `{app}` is served is not known: give it (--app-origin {app}=https://…)"
    )]
    NoAppOrigin { env: String, app: String },
    #[error("origin {0:?} must be https://host[:port] with no path (or http:// on localhost or 127.0.0.1, for tests)")]
    BadOrigin(String),
}

/// What the manifest cannot say of an environment without a domain: the API's origin, each
/// app's (served at CloudFront's own names), and whether staff sign in through single sign-on
/// (an environment with a domain has the identity unit, so it does).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub api: Option<String>,
    /// App name → its origin.
    pub apps: BTreeMap<String, String>,
    pub sso: Option<bool>,
}

/// `origin` if it is `https://host[:port]`, or plain HTTP on loopback; a trailing `/` is dropped.
pub fn check_origin(origin: &str) -> Result<String, WebConfigError> {
    let o = origin.strip_suffix('/').unwrap_or(origin);
    let host_port = |rest: &str| !rest.is_empty() && !rest.contains(['/', '?', '#', '@']);
    let ok = match o.strip_prefix("https://") {
        Some(rest) => host_port(rest),
        None => o.strip_prefix("http://").is_some_and(|rest| {
            let host = rest.rsplit_once(':').map_or(rest, |(h, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    ""
                }
            });
            host_port(rest) && (host == "localhost" || host == "127.0.0.1")
        }),
    };
    if ok {
        Ok(o.to_owned())
    } else {
        Err(WebConfigError::BadOrigin(origin.to_owned()))
    }
}

/// The API's public origin in `env`: `https://<subdomain>.<domain>` of the service served at a
/// subdomain; without a domain, the environment's `api_origin`, if it is given.
pub fn api_origin(m: &Manifest, env: &str) -> Option<String> {
    let e = m.env(env)?;
    let Some(domain) = &e.domain else {
        return e.api_origin.as_ref().map(|o| o.get_ref().clone());
    };
    let sub = m.services.iter().find_map(|s| s.get_ref().subdomain.clone())?;
    Some(format!("https://{sub}.{domain}"))
}

/// Where `app` is served in `env`: `https://<subdomain>.<domain>`; without a domain, the
/// environment's `app_origins` entry for it, if it is given.
pub fn app_origin(m: &Manifest, env: &str, app: &str) -> Option<String> {
    let e = m.env(env)?;
    let Some(domain) = &e.domain else {
        return e.app_origins.get(app).map(|o| o.get_ref().clone());
    };
    let f = m
        .frontends
        .iter()
        .map(|f| f.get_ref())
        .find(|f| f.name.get_ref() == app)?;
    Some(format!("https://{}.{domain}", f.subdomain.as_deref()?))
}

/// The customer apps of the A/B test: (variant, app name).
pub fn variant_apps(m: &Manifest) -> Vec<(String, String)> {
    m.frontends
        .iter()
        .map(|f| f.get_ref())
        .filter_map(|f| Some((f.variant.clone()?, f.name.get_ref().clone())))
        .collect()
}

/// `config.json` for `app` in `env`. `overrides` gives what the manifest cannot (an environment
/// without a domain); `flags_key` is the flag set's read-only client key.
pub fn web_config(
    m: &Manifest,
    env: &str,
    app: &str,
    overrides: &Overrides,
    flags_key: Option<&str>,
) -> Result<Value, WebConfigError> {
    let e = m
        .env(env)
        .ok_or_else(|| WebConfigError::UnknownEnvironment(env.to_owned()))?;
    if !m.frontends.iter().any(|f| f.get_ref().name.get_ref() == app) {
        return Err(WebConfigError::UnknownApp(app.to_owned()));
    }
    let api = match &overrides.api {
        Some(o) => check_origin(o)?,
        None => api_origin(m, env).ok_or_else(|| WebConfigError::NoApiOrigin(env.to_owned()))?,
    };
    let mut variants = Map::new();
    for (variant, name) in variant_apps(m) {
        let origin = match overrides.apps.get(&name) {
            Some(o) => check_origin(o)?,
            None => app_origin(m, env, &name).ok_or_else(|| WebConfigError::NoAppOrigin {
                env: env.to_owned(),
                app: name.clone(),
            })?,
        };
        variants.insert(variant, Value::String(format!("{origin}/")));
    }
    Ok(json!({
        "apiBase": api,
        "flagSet": WEB_FLAG_SET,
        "flagsKey": flags_key,
        "appId": app,
        "sso": overrides.sso.unwrap_or(e.domain.is_some()),
        "variants": variants,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../platform.toml");
        crate::manifest::load(&root, &crate::Prices::us_east_1()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_app_gets_its_environments_api_its_own_id_and_where_each_variant_lives() {
        let m = manifest();
        let none = Overrides::default();
        let v = web_config(&m, "prod", "billpay-frontend-b", &none, Some("bpf_x")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v,
            json!({"apiBase": "https://api.billpay.example.com", "flagSet": "billpay-web", "flagsKey": "bpf_x",
                   "appId": "billpay-frontend-b", "sso": true,
                   "variants": {"a": "https://a.billpay.example.com/", "b": "https://b.billpay.example.com/"}})
        );
        assert!(matches!(
            web_config(&m, "dev", "billpay-frontend-a", &none, None),
            Err(WebConfigError::NoApiOrigin(_))
        ));
        let api_only = Overrides {
            api: Some("https://api-dev.example.net".into()),
            ..Overrides::default()
        };
        assert!(matches!(
            web_config(&m, "dev", "billpay-frontend-a", &api_only, None),
            Err(WebConfigError::NoAppOrigin { app, .. }) if app == "billpay-frontend-a"
        ));
        let dev_origins = Overrides {
            api: Some("https://api-dev.example.net/".into()),
            apps: BTreeMap::from([
                ("billpay-frontend-a".into(), "https://d1.cloudfront.net".into()),
                ("billpay-frontend-b".into(), "http://localhost:4002".into()),
            ]),
            sso: None,
        };
        let dev = web_config(&m, "dev", "billpay-feature-flags", &dev_origins, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dev["apiBase"], "https://api-dev.example.net");
        assert_eq!(dev["sso"], false);
        assert_eq!(
            dev["variants"],
            json!({"a": "https://d1.cloudfront.net/", "b": "http://localhost:4002/"})
        );
        for bad in [
            "http://api.example.com",
            "http://localhost.example.com:80",
            "https://api.example.com/v1",
            "https://user@api.example.com",
            "api.example.com",
            "https://",
        ] {
            let o = Overrides {
                api: Some(bad.into()),
                ..dev_origins.clone()
            };
            assert!(
                matches!(
                    web_config(&m, "dev", "billpay-frontend-a", &o, None),
                    Err(WebConfigError::BadOrigin(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            web_config(&m, "dev", "nope", &dev_origins, None),
            Err(WebConfigError::UnknownApp(_))
        ));
    }

    #[test]
    fn an_environment_without_a_domain_may_give_its_origins_and_then_csp_cors_and_config_are_exact() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../platform.toml");
        let text = std::fs::read_to_string(&root).unwrap_or_else(|e| panic!("{e}"));
        let with = text.replacen(
            "monthly_budget_usd = 265",
            "monthly_budget_usd = 265\napi_origin = \"https://api.dev.example.net\"\n\
             app_origins = { billpay-frontend-a = \"https://d1.cloudfront.net\", billpay-frontend-b = \"https://d2.cloudfront.net\", \
             billpay-feature-flags = \"https://d3.cloudfront.net\", billpay-biller-portal = \"https://d4.cloudfront.net\" }",
            1,
        );
        assert_ne!(with, text);
        let m = crate::manifest::parse(&root, &with, &crate::Prices::us_east_1()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(api_origin(&m, "dev").as_deref(), Some("https://api.dev.example.net"));
        assert_eq!(
            api_origin(&m, "prod").as_deref(),
            Some("https://api.billpay.example.com")
        );
        // config.json names them with no --api-origin or --app-origin.
        let v = web_config(&m, "dev", "billpay-biller-portal", &Overrides::default(), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["apiBase"], "https://api.dev.example.net");
        assert_eq!(
            v["variants"],
            json!({"a": "https://d1.cloudfront.net/", "b": "https://d2.cloudfront.net/"})
        );
        // The API's CORS allows exactly the four apps.
        let files = crate::k8s::render_all(&m).unwrap_or_else(|e| panic!("{e}"));
        let overlay = |env: &str| {
            files
                .iter()
                .find(|f| f.path.ends_with(format!("overlays/{env}/kustomization.yaml")))
                .map(|f| f.contents.clone())
                .unwrap_or_else(|| panic!("no {env} overlay"))
        };
        assert!(
            overlay("dev").contains(
                "path: /data/BILLPAY_CORS_ORIGINS\n        value: https://d1.cloudfront.net,https://d2.cloudfront.net,https://d3.cloudfront.net,https://d4.cloudfront.net\n"
            ),
            "{}",
            overlay("dev")
        );
        // Each frontend unit's CSP allows exactly it.
        let units = crate::live::units(&m, "dev").unwrap_or_else(|| panic!("no dev"));
        let frontends: Vec<_> = units.iter().filter(|u| u.module == "frontend").collect();
        assert_eq!(frontends.len(), m.frontends.len());
        for u in frontends {
            assert_eq!(u.inputs["api_origin"], "https://api.dev.example.net", "{}", u.name);
        }
        // Without them, dev's units leave the origin empty (the module's CSP then allows any
        // HTTPS origin), the deploy needs --api-origin, and the API's CORS is set by hand.
        let plain = manifest();
        let files = crate::k8s::render_all(&plain).unwrap_or_else(|e| panic!("{e}"));
        assert!(files.iter().any(
            |f| f.path.ends_with("overlays/dev/kustomization.yaml") && !f.contents.contains("BILLPAY_CORS_ORIGINS")
        ));
        let units = crate::live::units(&plain, "dev").unwrap_or_else(|| panic!("no dev"));
        assert!(
            units
                .iter()
                .filter(|u| u.module == "frontend")
                .all(|u| u.inputs["api_origin"] == "")
        );
    }
}
