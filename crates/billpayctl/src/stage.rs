//! A web app's build as it is deployed: the built files, plus the environment's `/config.json`
//! for that app. The build stays untouched; the staged copy is what is compared and uploaded.

use std::path::Path;

use anyhow::Context;

/// Copies `dir` into a new temporary folder and writes `config` there as `config.json`.
pub fn stage_build(dir: &Path, config: &serde_json::Value) -> anyhow::Result<tempfile::TempDir> {
    let out = tempfile::tempdir().context("creating a staging folder")?;
    copy_tree(dir, out.path()).with_context(|| format!("copying the build in {}", dir.display()))?;
    let text = serde_json::to_string_pretty(config).context("serialising config.json")? + "\n";
    std::fs::write(out.path().join("config.json"), text).context("writing config.json")?;
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if !from.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "{} is not a folder (build the web apps first: npm run build in web/)",
                from.display()
            ),
        ));
    }
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
