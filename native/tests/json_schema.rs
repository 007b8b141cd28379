//! The `--json` output's schema is stable within its version.
//!
//! `native/schema/auth-output.v1.schema.json` ([`cliauth::cli::JSON_SCHEMA`]) is
//! flattened into one line per fact a consumer can rely on — a field's type, a
//! constant, a `$ref`, each allowed enum value, each required field, each closed
//! object — and compared with the frozen contract of version 1,
//! `native/tests/schema/auth-output.v1.contract`:
//!
//! - a contract line missing from the schema is a breaking change (a field renamed,
//!   removed, retyped or made optional, an enum value dropped): the test fails and
//!   says to raise [`cliauth::cli::JSON_SCHEMA_VERSION`] with a new schema file
//!   instead;
//! - a schema line missing from the contract is an addition, which version 1 allows:
//!   the test fails until the line is appended to the contract, so the contract always
//!   describes the whole schema (run with `CLIAUTH_BLESS_SCHEMA=1` to append them).
//!
//! That every `--json` output follows the schema is tested in `cli.rs`, against the
//! real dev server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn contract_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "tests/schema/auth-output.v{}.contract",
        cliauth::cli::JSON_SCHEMA_VERSION
    ))
}

/// One line per fact of `schema` at `path` (see the module docs).
fn facts(path: &str, schema: &Value, out: &mut Vec<String>) {
    let Some(object) = schema.as_object() else {
        out.push(format!("{path} schema={schema}"));
        return;
    };
    for (key, value) in object {
        match key.as_str() {
            // Prose: free to change.
            "description" | "title" | "$comment" | "$schema" | "examples" => {}
            "type" | "const" | "format" | "$ref" | "minimum" | "maximum" | "minItems"
            | "maxItems" | "pattern" => out.push(format!("{path} {key}={value}")),
            "enum" => {
                for v in value.as_array().into_iter().flatten() {
                    out.push(format!("{path} enum∋{v}"));
                }
            }
            "required" => {
                for v in value.as_array().into_iter().flatten() {
                    out.push(format!("{path} required {}", v.as_str().unwrap_or("?")));
                }
            }
            "additionalProperties" | "unevaluatedProperties" => match value {
                Value::Bool(false) => out.push(format!("{path} closed")),
                other => facts(&format!("{path}.<{key}>"), other, out),
            },
            "properties" | "$defs" => {
                for (name, sub) in value.as_object().into_iter().flatten() {
                    let sub_path = if key == "$defs" {
                        format!("#{name}")
                    } else {
                        format!("{path}.{name}")
                    };
                    facts(&sub_path, sub, out);
                }
            }
            "items" => facts(&format!("{path}[]"), value, out),
            "allOf" | "oneOf" | "anyOf" => {
                for (i, sub) in value.as_array().into_iter().flatten().enumerate() {
                    facts(&format!("{path}.<{key} {i}>"), sub, out);
                }
            }
            "$id" => {}
            other => out.push(format!("{path} {other}={value}")),
        }
    }
}

fn schema() -> Value {
    serde_json::from_str(cliauth::cli::JSON_SCHEMA).expect("the schema is JSON")
}

#[test]
fn the_schema_names_its_version_everywhere() {
    let schema = schema();
    let version = cliauth::cli::JSON_SCHEMA_VERSION;
    let id = schema["$id"].as_str().unwrap();
    assert!(
        id.ends_with(&format!("/auth-output.v{version}.schema.json")),
        "{id}"
    );
    let mut lines = Vec::new();
    facts("$", &schema, &mut lines);
    let versions: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(".schema_version const="))
        .collect();
    // The root, every command's object (the status object too).
    assert!(versions.len() >= 8, "{versions:?}");
    for line in versions {
        assert!(line.ends_with(&format!("const={version}")), "{line}");
    }
}

#[test]
fn the_schema_keeps_every_fact_of_its_version() {
    let mut current = Vec::new();
    facts("$", &schema(), &mut current);
    let current: BTreeSet<String> = current.into_iter().collect();
    let path = contract_path();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let frozen: Vec<&str> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    let removed: Vec<&str> = frozen
        .iter()
        .copied()
        .filter(|l| !current.contains(*l))
        .collect();
    assert!(
        removed.is_empty(),
        "the --json schema dropped or changed facts of version {}: a breaking change. Keep \
         them, or raise JSON_SCHEMA_VERSION and write a new schema file:\n  {}",
        cliauth::cli::JSON_SCHEMA_VERSION,
        removed.join("\n  ")
    );
    let frozen: BTreeSet<&str> = frozen.into_iter().collect();
    let added: Vec<&String> = current
        .iter()
        .filter(|l| !frozen.contains(l.as_str()))
        .collect();
    if !added.is_empty() && std::env::var("CLIAUTH_BLESS_SCHEMA").as_deref() == Ok("1") {
        let mut text = text.clone();
        if text.is_empty() {
            text.push_str(
                "// The facts of the --json schema, version 1 (native/tests/json_schema.rs).\n\
                 // Lines are only ever appended; a removed line is a breaking change.\n",
            );
        }
        for line in &added {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    assert!(
        added.is_empty(),
        "the --json schema has facts its contract ({}) lacks; additions are allowed within a \
         version: append them (CLIAUTH_BLESS_SCHEMA=1 does):\n  {}",
        path.display(),
        added
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// The flattening sees what a consumer would notice: a retyped field, a dropped
/// enum value, a field made optional, an object opened — each is a removed fact.
#[test]
fn breaking_edits_are_removed_facts() {
    let lines = |schema: &Value| {
        let mut out = Vec::new();
        facts("$", schema, &mut out);
        out.into_iter().collect::<BTreeSet<String>>()
    };
    let base = schema();
    let before = lines(&base);
    type Edit = (&'static str, fn(&mut Value));
    let edits: [Edit; 4] = [
        ("retype", |s| {
            s["$defs"]["token"]["properties"]["access_token"]["type"] = "integer".into();
        }),
        ("enum value", |s| {
            s["$defs"]["method"]["enum"]
                .as_array_mut()
                .unwrap()
                .retain(|v| v != "device");
        }),
        ("optional", |s| {
            s["$defs"]["error"]["required"]
                .as_array_mut()
                .unwrap()
                .retain(|v| v != "error");
        }),
        ("rename", |s| {
            let switch = s["$defs"]["switch"]["properties"].as_object_mut().unwrap();
            let v = switch.remove("active_profile").unwrap();
            switch.insert("profile".into(), v);
        }),
    ];
    for (what, edit) in edits {
        let mut edited = base.clone();
        edit(&mut edited);
        let after = lines(&edited);
        assert!(
            before.difference(&after).next().is_some(),
            "{what}: no fact removed"
        );
    }
    // An added optional field removes nothing.
    let mut added = base.clone();
    added["$defs"]["token"]["properties"]["token_type"] = serde_json::json!({"type": "string"});
    assert_eq!(before.difference(&lines(&added)).count(), 0);
}
