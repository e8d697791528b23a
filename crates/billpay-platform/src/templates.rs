//! The one minijinja set-up every rendered file goes through: blocks trimmed, trailing newlines
//! kept, templates compiled into the binary.

use minijinja::Environment as Jinja;
use serde::Serialize;

use crate::PlatformError;

/// An environment holding `templates` (name, source).
pub(crate) fn env(templates: &[(&'static str, &'static str)]) -> Result<Jinja<'static>, PlatformError> {
    let mut j = Jinja::new();
    j.set_trim_blocks(true);
    j.set_lstrip_blocks(true);
    j.set_keep_trailing_newline(true);
    // YAML and HCL are written as they are; values that need quoting use `tojson` explicitly.
    j.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    for (name, src) in templates {
        j.add_template(name, src)
            .map_err(|e| PlatformError::Template((*name).into(), e.to_string()))?;
    }
    Ok(j)
}

/// Renders the template `name` with `ctx`.
pub(crate) fn render(j: &Jinja<'_>, name: &str, ctx: impl Serialize) -> Result<String, PlatformError> {
    j.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| PlatformError::Template(name.into(), e.to_string()))
}
