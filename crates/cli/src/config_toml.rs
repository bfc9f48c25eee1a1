//! Merging our blocks into a user's `supabase/config.toml` without overwriting anything: a
//! table that exists is reported and kept as it is (an existing `[auth.hook.send_email]`
//! belongs to whoever configured it), missing ones are added. `toml_edit` keeps the file's
//! comments, order and formatting.

use toml_edit::{DocumentMut, Item, Table, value};

/// What the merge did, one line per block, for the user.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) added: Vec<String>,
    pub(crate) kept: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

/// One `[auth.hook.<table>]` block.
pub(crate) struct HookBlock<'a> {
    pub(crate) table: &'a str,
    pub(crate) uri: String,
    pub(crate) secrets: String,
}

fn child<'a>(item: &'a mut Item, key: &str, path: &str) -> Result<&'a mut Item, String> {
    let table = item
        .as_table_like_mut()
        .ok_or_else(|| format!("`{path}` is not a table"))?;
    if table.get(key).is_none() {
        let mut t = Table::new();
        t.set_implicit(true);
        table.insert(key, Item::Table(t));
    }
    table
        .get_mut(key)
        .ok_or_else(|| format!("`{path}.{key}` could not be created"))
}

/// Merges `hooks` and the function's `verify_jwt = false` into `existing`.
///
/// # Errors
/// The file is not TOML, or a key we need is not a table.
pub(crate) fn merge(
    existing: &str,
    function: &str,
    hooks: &[HookBlock<'_>],
) -> Result<(String, Report), String> {
    let mut doc: DocumentMut = existing
        .parse()
        .map_err(|e| format!("not valid TOML: {e}"))?;
    let mut report = Report::default();
    {
        let root = doc.as_item_mut();
        let auth = child(root, "auth", "")?;
        let hook = child(auth, "hook", "auth")?;
        for h in hooks {
            let name = format!("[auth.hook.{}]", h.table);
            let tables = hook
                .as_table_like_mut()
                .ok_or("`auth.hook` is not a table")?;
            if let Some(current) = tables.get(h.table) {
                let uri = current
                    .get("uri")
                    .and_then(Item::as_str)
                    .unwrap_or("no uri");
                report
                    .kept
                    .push(format!("{name} (already configured: {uri})"));
                continue;
            }
            let mut t = Table::new();
            t.insert("enabled", value(true));
            t.insert("uri", value(h.uri.as_str()));
            t.insert("secrets", value(h.secrets.as_str()));
            tables.insert(h.table, Item::Table(t));
            report.added.push(name);
        }
    }
    let root = doc.as_item_mut();
    let functions = child(root, "functions", "")?;
    let f = child(functions, function, "functions")?;
    let name = format!("[functions.{function}]");
    let table = f
        .as_table_like_mut()
        .ok_or_else(|| format!("`functions.{function}` is not a table"))?;
    match table.get("verify_jwt").map(Item::as_bool) {
        None => {
            table.insert("verify_jwt", value(false));
            report.added.push(format!("{name} verify_jwt = false"));
        }
        Some(Some(false)) => report.kept.push(format!("{name} verify_jwt = false")),
        Some(_) => report.warnings.push(format!(
            "{name} has verify_jwt set to something other than false: Supabase Auth sends no JWT, \
             so the platform will refuse every hook call with 401. Kept as it is; set it to false."
        )),
    }
    Ok((doc.to_string(), report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks() -> Vec<HookBlock<'static>> {
        ["custom_access_token", "send_email"]
            .into_iter()
            .map(|t| HookBlock {
                table: t,
                uri: format!("https://x.test/{t}"),
                secrets: "env(S)".into(),
            })
            .collect()
    }

    #[test]
    fn existing_blocks_are_kept_verbatim_and_missing_ones_added() {
        let existing = "# my project\nproject_id = \"app\"\n\n[auth]\nsite_url = \"https://app.test\"\n\n\
            [auth.hook.send_email]\nenabled = true\nuri = \"https://dreamlit.example/hook\" # theirs\nsecrets = \"env(DREAMLIT)\"\n";
        let (out, report) = merge(existing, "portcullis-hooks", &blocks()).unwrap();
        assert!(
            out.starts_with("# my project\nproject_id = \"app\"\n"),
            "{out}"
        );
        assert!(out.contains("uri = \"https://dreamlit.example/hook\" # theirs"));
        assert!(out.contains("[auth.hook.custom_access_token]\nenabled = true\nuri = \"https://x.test/custom_access_token\"\nsecrets = \"env(S)\""), "{out}");
        assert!(!out.contains("https://x.test/send_email"));
        assert_eq!(
            report.added,
            [
                "[auth.hook.custom_access_token]",
                "[functions.portcullis-hooks] verify_jwt = false"
            ]
        );
        assert_eq!(
            report.kept,
            ["[auth.hook.send_email] (already configured: https://dreamlit.example/hook)"]
        );
        // Merging again changes nothing.
        let (again, report) = merge(&out, "portcullis-hooks", &blocks()).unwrap();
        assert_eq!(again, out);
        assert!(report.added.is_empty());
    }

    #[test]
    fn verify_jwt_true_is_kept_with_a_warning() {
        let (out, report) = merge(
            "[functions.portcullis-hooks]\nverify_jwt = true\n",
            "portcullis-hooks",
            &[],
        )
        .unwrap();
        assert!(out.contains("verify_jwt = true"));
        assert_eq!(report.warnings.len(), 1);
    }

    #[test]
    fn broken_files_are_refused() {
        assert!(
            merge("[auth\n", "f", &blocks())
                .unwrap_err()
                .contains("not valid TOML")
        );
        assert!(
            merge("auth = 1\n", "f", &blocks())
                .unwrap_err()
                .contains("`auth` is not a table")
        );
    }
}
