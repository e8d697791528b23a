//! The runtime settings a web app reads at `/config.json`, for one app in one environment: the
//! API's origin, the flag set and its read-only client key, the app's id, and whether staff sign
//! in through single sign-on. `billpayctl deploy frontend` (and the MCP tool) uploads it with each
//! app, so nothing about a deployment is built into the bundles.

use serde_json::{Value, json};

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
    #[error("api origin {0:?} must be https://host[:port], with no path")]
    BadApiOrigin(String),
}

/// The API's public origin in `env`: `https://<subdomain>.<domain>` of the service served at a
/// subdomain; `None` without a domain.
pub fn api_origin(m: &Manifest, env: &str) -> Option<String> {
    let domain = m.env(env)?.domain.clone()?;
    let sub = m.services.iter().find_map(|s| s.get_ref().subdomain.clone())?;
    Some(format!("https://{sub}.{domain}"))
}

/// `/config.json` for `app` in `env`. `api` overrides the API's origin (needed where the
/// environment has no domain); `flags_key` is the flag set's read-only client key.
pub fn web_config(
    m: &Manifest,
    env: &str,
    app: &str,
    api: Option<&str>,
    flags_key: Option<&str>,
) -> Result<Value, WebConfigError> {
    let e = m
        .env(env)
        .ok_or_else(|| WebConfigError::UnknownEnvironment(env.to_owned()))?;
    if !m.frontends.iter().any(|f| f.get_ref().name.get_ref() == app) {
        return Err(WebConfigError::UnknownApp(app.to_owned()));
    }
    let origin = match api {
        Some(o) => {
            let ok = o
                .strip_prefix("https://")
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/') && !rest.contains('?'));
            if !ok {
                return Err(WebConfigError::BadApiOrigin(o.to_owned()));
            }
            o.to_owned()
        }
        None => api_origin(m, env).ok_or_else(|| WebConfigError::NoApiOrigin(env.to_owned()))?,
    };
    Ok(json!({
        "apiBase": origin,
        "flagSet": WEB_FLAG_SET,
        "flagsKey": flags_key,
        "appId": app,
        "sso": e.domain.is_some(),
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
    fn each_app_gets_its_environments_api_and_its_own_id() {
        let m = manifest();
        let v = web_config(&m, "prod", "billpay-frontend-b", None, Some("bpf_x")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v,
            json!({"apiBase": "https://api.billpay.example.com", "flagSet": "billpay-web", "flagsKey": "bpf_x",
                   "appId": "billpay-frontend-b", "sso": true})
        );
        assert!(matches!(
            web_config(&m, "dev", "billpay-frontend-a", None, None),
            Err(WebConfigError::NoApiOrigin(_))
        ));
        let dev = web_config(
            &m,
            "dev",
            "billpay-frontend-a",
            Some("https://api-dev.example.net"),
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dev["apiBase"], "https://api-dev.example.net");
        assert_eq!(dev["sso"], false);
        for bad in [
            "http://api.example.com",
            "https://api.example.com/v1",
            "api.example.com",
            "https://",
        ] {
            assert!(
                matches!(
                    web_config(&m, "dev", "billpay-frontend-a", Some(bad), None),
                    Err(WebConfigError::BadApiOrigin(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            web_config(&m, "dev", "nope", None, None),
            Err(WebConfigError::UnknownApp(_))
        ));
    }
}
