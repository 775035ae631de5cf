//! The served OpenAPI document: every listed operation is routed and documented as the route
//! registry declares it, and every object schema Coder also has matches Coder's swagger
//! (`shared/spec/coder-swagger.json`): same property names (or a declared addition) and the
//! same JSON types.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use coder_core::model::contract::{ADDITIONS, Addition};
use coder_server::api::routes::{Body, routes};
use common::{Db, TestServer};
use serde_json::{Value, json};

fn coder_swagger() -> Value {
    let path = std::env::var_os("CODER_SWAGGER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/spec/coder-swagger.json")
        });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read Coder's contract at {} ({e}); set CODER_SWAGGER",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// A comparable description of a schema's JSON type: `string`, `integer`, `object`,
/// `array<...>`; references count as objects unless they point at a string enum.
fn kind(schema: &Value, definitions: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/definitions/");
        let def = &definitions[name];
        return match def["type"].as_str() {
            Some("object") | None => "object".to_owned(),
            Some(other) => other.to_owned(),
        };
    }
    if let Some(all) = schema["allOf"].as_array() {
        return all
            .first()
            .map(|s| kind(s, definitions))
            .unwrap_or_default();
    }
    match schema["type"].as_str() {
        Some("array") => format!("array<{}>", kind(&schema["items"], definitions)),
        Some(t) => t.to_owned(),
        None => "object".to_owned(),
    }
}

/// Where the real server differs from its swagger (`shared/spec/README.md`): `NullUUID`
/// fields travel as `null` or a UUID string, the swagger models them as objects.
const NULL_UUID_FIELDS: &[(&str, &str)] = &[
    ("codersdk.WorkspaceAgent", "parent_id"),
    ("codersdk.Workspace", "task_id"),
];

#[tokio::test]
async fn object_schemas_match_coders_swagger() {
    let s = TestServer::start(Db::Sqlite).await;
    let (status, ours) = s.get("", "/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(ours["swagger"], "2.0");
    let theirs = coder_swagger();
    let our_defs = ours["definitions"].as_object().unwrap();
    let their_defs = &theirs["definitions"];
    let mut compared = 0;
    let mut problems = Vec::new();
    for (name, def) in our_defs {
        let Some(their) = their_defs.get(name) else {
            continue;
        };
        let Some(props) = def["properties"].as_object() else {
            continue;
        };
        compared += 1;
        for (field, schema) in props {
            let declared = |f: &dyn Fn(&Addition) -> bool| ADDITIONS.iter().any(f);
            let their_prop = &their["properties"][field];
            if their_prop.is_null() {
                if !declared(
                    &|a| matches!(a, Addition::Field { definition, field: f, .. } if *definition == name && f == field),
                ) {
                    problems.push(format!("{name}.{field}: not in Coder's definition"));
                }
                continue;
            }
            if declared(
                &|a| matches!(a, Addition::Override { definition, field: f, .. } if *definition == name && f == field),
            ) || NULL_UUID_FIELDS.contains(&(name.as_str(), field.as_str()))
            {
                continue;
            }
            let (a, b) = (
                kind(schema, &ours["definitions"]),
                kind(their_prop, their_defs),
            );
            if a != b {
                problems.push(format!("{name}.{field}: ours is {a}, Coder's is {b}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "schema differences:\n{}",
        problems.join("\n")
    );
    assert!(compared >= 30, "only {compared} definitions were compared");
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let s = TestServer::start(Db::Sqlite).await;
    let token = s.first_user().await;
    let (_, doc) = s.get("", "/openapi.json").await;
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        routes().count()
    );
    for r in routes() {
        let path = r
            .path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "00000000-0000-0000-0000-000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method =
            reqwest::Method::from_bytes(r.method.as_str().to_uppercase().as_bytes()).unwrap();
        let resp = s
            .client
            .request(method, s.api(&path))
            .header("Coder-Session-Token", &token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            status != 405 && !body.contains("Route not found."),
            "{} {}: {status} {body}",
            r.method.as_str(),
            r.path
        );
    }
}

/// The schema the document should give a declared body: a definition named after the Rust
/// type (the name the README shows), or an array of one.
fn declared_schema(body: Body) -> Value {
    let reference = |name: &str| json!({"$ref": format!("#/definitions/codersdk.{name}")});
    match body {
        Body::One(ty) => reference(ty.name()),
        Body::Many(ty) => json!({"type": "array", "items": reference(ty.name())}),
        Body::Raw(_) => json!({"type": "string", "format": "binary"}),
        Body::None | Body::Stream => Value::Null,
    }
}

#[test]
fn every_operation_is_documented_as_the_registry_declares_it() {
    let doc = coder_server::openapi::document().unwrap();
    for r in routes() {
        let what = format!("{} {}", r.method.as_str(), r.path);
        let op = &doc["paths"][format!("/api/v2{}", r.path)][r.method.as_str()];
        assert_eq!(op["summary"], r.summary, "{what}");
        let responses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(responses, [&r.status.to_string(), "default"], "{what}");
        let ok = &op["responses"][r.status.to_string()];
        assert_eq!(
            ok["schema"],
            declared_schema(r.response),
            "{what}: response"
        );
        let parameters = op["parameters"].as_array().unwrap();
        let body = parameters.iter().find(|p| p["in"] == "body");
        assert_eq!(
            body.map_or(Value::Null, |p| p["schema"].clone()),
            declared_schema(r.request),
            "{what}: request"
        );
        let query: Vec<(&str, &str)> = parameters
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| (p["name"].as_str().unwrap(), p["type"].as_str().unwrap()))
            .collect();
        let declared: Vec<(&str, &str)> =
            r.query.iter().map(|q| (q.name(), q.json_type())).collect();
        assert_eq!(query, declared, "{what}: query");
        assert_eq!(op.get("security").is_some(), r.auth, "{what}: security");
        for schema in [
            &ok["schema"],
            &body.map_or(Value::Null, |p| p["schema"].clone()),
        ] {
            let reference = schema["$ref"].as_str().or(schema["items"]["$ref"].as_str());
            if let Some(name) = reference.and_then(|r| r.strip_prefix("#/definitions/")) {
                assert!(
                    doc["definitions"][name].is_object(),
                    "{what}: {name} is not defined"
                );
            }
        }
    }
}
